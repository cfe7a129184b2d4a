// The dae configuration language.
//
// One grammar for every section: the language is deliberately generic (sections hold
// declarations, routing rules, bare literals and nested sections); what each section
// may contain is decided by the semantic checker, which gives far better messages than
// a grammar could.  The lexical rules follow upstream dae so that every config it
// accepts lexes the same way here (e.g. `hk-01`, `224.0.0.0/3`, `geolocation-!cn`
// are single tokens and ':' always separates).
grammar DaeConfig;

config      : section* EOF ;
section     : name=ID '{' item* '}' ;
item        : routingRule | declaration | section | literalItem ;

// `key: value, value [annotation]` or `key: f(..) && g(..) [annotation]`
declaration : key=ID ':' ( conjunction | literalList ) annotation? ;
literalItem : literal annotation? ;
routingRule : conjunction '->' outbound ;
outbound    : name=bareLiteral ( '(' paramList? ')' )? ;

conjunction : call ( '&&' call )* ;
call        : negation='!'? name=ID '(' paramList? ')' ;
paramList   : param ( ',' param )* ;
param       : ( key=ID ':' )? literal ;
annotation  : '[' paramList ']' ;

literalList : literal ( ',' literal )* ;
literal     : QUOTED | ID | NON_ID ;
bareLiteral : ID | NON_ID ;

LBRACE   : '{' ;
RBRACE   : '}' ;
LPAREN   : '(' ;
RPAREN   : ')' ;
LBRACKET : '[' ;
RBRACKET : ']' ;
COLON    : ':' ;
COMMA    : ',' ;
ARROW    : '->' ;
AND      : '&&' ;
NOT      : '!' ;

WS            : [ \t\r\n\f\u000B\uFEFF]+ -> skip ;
BLOCK_COMMENT : '/*' .*? '*/' -> skip ;
LINE_COMMENT  : '#' ~[\r\n]* -> skip ;

ID     : ID_HEAD SAFE_CHAR* ;
NON_ID : NONID_HEAD SAFE_CHAR* ;
QUOTED : '"' ( '\\' . | ~["\\] )* '"'
       | '\'' ( '\\' . | ~['\\] )* '\''
       ;
// An opening quote with no closing one on its line: reported as one clear error.
UNTERMINATED : '"' ( '\\' . | ~["\\\r\n] )*
             | '\'' ( '\\' . | ~['\\\r\n] )*
             ;
// Anything else is one bad character; the parser reports it with its position.
BAD_CHAR : . ;

fragment ID_HEAD      : [a-zA-Z_] ;
fragment NONID_HEAD   : [/\\^*.+0-9-] ;
fragment INTERMEDIATE : [=@$!#%] ;
fragment SAFE_CHAR    : ID_HEAD | NONID_HEAD | INTERMEDIATE ;
