#include "frontend/Parser.h"

#include <antlr4-runtime.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string_view>

#include "DaeConfigLexer.h"
#include "DaeConfigParser.h"

namespace dae::frontend {
namespace {

using grammar::DaeConfigLexer;
using grammar::DaeConfigParser;

SourceRange tokenRange(uint32_t file, const antlr4::Token* t) {
  if (!t) return {};
  size_t len = t->getType() == antlr4::Token::EOF ? 1 : t->getText().size();
  // A token spanning lines (a quoted string) is underlined up to its line's end.
  std::string text = t->getText();
  if (auto nl = text.find('\n'); nl != std::string::npos) len = nl;
  return {file, static_cast<uint32_t>(t->getLine()),
          static_cast<uint32_t>(t->getCharPositionInLine() + 1), static_cast<uint32_t>(std::max<size_t>(len, 1))};
}

SourceRange contextRange(uint32_t file, antlr4::ParserRuleContext* ctx) {
  if (!ctx || !ctx->getStart()) return {};
  SourceRange r = tokenRange(file, ctx->getStart());
  const antlr4::Token* stop = ctx->getStop();
  if (stop && stop->getLine() == ctx->getStart()->getLine() &&
      stop->getStopIndex() != static_cast<size_t>(-1) && stop->getStopIndex() >= ctx->getStart()->getStartIndex()) {
    SourceRange end = tokenRange(file, stop);  // byte columns, so the length is in bytes too
    if (end.col + end.length > r.col) r.length = end.col + end.length - r.col;
  }
  return r;
}

std::string describeTokenType(size_t type) {
  switch (type) {
    case antlr4::Token::EOF: return "end of file";
    case DaeConfigLexer::ID: return "a name";
    case DaeConfigLexer::NON_ID: return "a value";
    case DaeConfigLexer::QUOTED: return "a quoted string";
    case DaeConfigLexer::LBRACE: return "'{'";
    case DaeConfigLexer::RBRACE: return "'}'";
    case DaeConfigLexer::LPAREN: return "'('";
    case DaeConfigLexer::RPAREN: return "')'";
    case DaeConfigLexer::LBRACKET: return "'['";
    case DaeConfigLexer::RBRACKET: return "']'";
    case DaeConfigLexer::COLON: return "':'";
    case DaeConfigLexer::COMMA: return "','";
    case DaeConfigLexer::ARROW: return "'->'";
    case DaeConfigLexer::AND: return "'&&'";
    case DaeConfigLexer::NOT: return "'!'";
    default: return "a token";
  }
}

std::string describeToken(const antlr4::Token* t) {
  if (!t || t->getType() == antlr4::Token::EOF) return "end of file";
  std::string text = t->getText();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return "'" + text + "'";
}

// The offset of the first byte that is not well-formed UTF-8 (RFC 3629: no overlong
// forms, no surrogates, nothing past U+10FFFF), or npos. ANTLR's runtime decodes its
// input with std::wstring_convert, which throws on such bytes.
size_t invalidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the range of the first continuation byte
    if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c == 0xE0) n = 2, lo = 0xA0;
    else if (c == 0xED) n = 2, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) n = 2;
    else if (c == 0xF0) n = 3, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) n = 3;
    else if (c == 0xF4) n = 3, hi = 0x8F;
    else return i;
    if (s.size() - i <= n) return i;
    for (size_t k = 1; k <= n; ++k) {
      unsigned char b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return i;
    }
    i += n + 1;
  }
  return std::string_view::npos;
}

// ANTLR counts columns in code points; SourceRange counts bytes. This factory gives
// every token the byte column of its start, walking the (valid UTF-8) text once as
// the lexer creates tokens in order.
class ByteColumnTokenFactory : public antlr4::CommonTokenFactory {
 public:
  explicit ByteColumnTokenFactory(std::string_view text) : text_(text) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") byte_ = 3;  // ANTLRInputStream drops a leading BOM
  }

  std::unique_ptr<antlr4::CommonToken> create(std::pair<antlr4::TokenSource*, antlr4::CharStream*> source, size_t type,
                                              const std::string& text, size_t channel, size_t start, size_t stop,
                                              size_t line, size_t charPositionInLine) override {
    return CommonTokenFactory::create(source, type, text, channel, start, stop, line,
                                      byteColumn(start, charPositionInLine));
  }
  using CommonTokenFactory::create;

 private:
  size_t byteColumn(size_t start, size_t column) {
    // Tokens the parser conjures in error recovery have no start; they copy the
    // (already converted) column of a real token.
    if (start == INVALID_INDEX || start < codePoint_) return column;
    while (codePoint_ < start && byte_ < text_.size()) {
      unsigned char c = static_cast<unsigned char>(text_[byte_]);
      byte_ += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      ++codePoint_;
      if (c == '\n') lineStart_ = byte_;
    }
    return codePoint_ == start ? byte_ - lineStart_ : column;
  }

  std::string_view text_;
  size_t codePoint_ = 0, byte_ = 0, lineStart_ = 0;
};

// Facts gathered by one pass over the tokens before parsing: nesting depth, bad
// characters, unterminated strings and unbalanced braces.
struct TokenScan {
  bool tooDeep = false;
  // Index of the token where an unterminated '/*' comment starts: the rest of the
  // file is comment text, so syntax errors from there on are not reported.
  size_t commentRunsToEof = static_cast<size_t>(-1);
  std::vector<std::pair<const antlr4::Token*, std::string>> unclosed;  // '{' token, section name
};

class ErrorListener : public antlr4::BaseErrorListener {
 public:
  ErrorListener(uint32_t file, DiagnosticEngine& diags, antlr4::CommonTokenStream& tokens, const TokenScan& scan)
      : file_(file), diags_(diags), tokens_(tokens), scan_(scan) {}

  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t line, size_t col,
                   const std::string& msg, std::exception_ptr) override {
    // Bad characters and unterminated strings were already reported by the scan.
    if (offending && (offending->getType() == DaeConfigLexer::BAD_CHAR ||
                      offending->getType() == DaeConfigLexer::UNTERMINATED))
      return;
    if (offending && offending->getTokenIndex() >= scan_.commentRunsToEof) return;
    if (line == lastLine_ && col == lastCol_) return;  // one error per position
    lastLine_ = line;
    lastCol_ = col;

    SourceRange at = offending ? tokenRange(file_, offending)
                               : SourceRange{file_, static_cast<uint32_t>(line), static_cast<uint32_t>(col + 1), 1};
    std::string expected;
    if (auto* parser = dynamic_cast<antlr4::Parser*>(recognizer)) {
      std::vector<std::string> names;
      for (size_t t : parser->getExpectedTokens().toList()) {
        std::string n = describeTokenType(t);
        if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
      }
      if (names.size() == 1) {
        expected = names[0];
      } else if (!names.empty() && names.size() <= 5) {
        for (size_t i = 0; i < names.size(); ++i)
          expected += (i ? (i + 1 == names.size() ? " or " : ", ") : "") + names[i];
      }
    }

    std::string message;
    if (msg.rfind("missing ", 0) == 0 && !expected.empty()) {
      message = "expected " + expected + " before " + describeToken(offending);
    } else if (offending && offending->getType() == antlr4::Token::EOF) {
      message = "unexpected end of file";
      if (!expected.empty()) message += "; expected " + expected;
    } else {
      message = "unexpected " + describeToken(offending);
      if (!expected.empty()) message += "; expected " + expected;
    }
    diags_.error(at, message);
    addHints(offending);
  }

 private:
  void addHints(const antlr4::Token* offending) {
    if (!offending) return;
    if (offending->getType() == antlr4::Token::EOF && !scan_.unclosed.empty()) {
      const auto& [brace, name] = scan_.unclosed.back();
      diags_.note(tokenRange(file_, brace),
                  name.empty() ? "this '{' is never closed" : "section '" + name + "' opened here is never closed");
      return;
    }
    // `123dns.com:53` - a key may not start with a digit; upstream users hit this with
    // domains and host:port values, so say how to write it.
    if (offending->getType() == DaeConfigLexer::COLON && offending->getTokenIndex() > 0) {
      const antlr4::Token* prev = tokens_.get(offending->getTokenIndex() - 1);
      if (prev->getType() == DaeConfigLexer::NON_ID) {
        diags_.note(tokenRange(file_, prev),
                    "a key must start with a letter or '_'; to write '" + prev->getText() +
                        ":...' as a value, quote it: '" + prev->getText() + ":...'");
      }
    }
  }

  uint32_t file_;
  DiagnosticEngine& diags_;
  antlr4::CommonTokenStream& tokens_;
  const TokenScan& scan_;
  size_t lastLine_ = 0, lastCol_ = static_cast<size_t>(-1);
};

TokenScan scanTokens(uint32_t file, antlr4::CommonTokenStream& tokens, DiagnosticEngine& diags,
                     const ParseLimits& limits) {
  TokenScan scan;
  constexpr size_t kNotSearched = static_cast<size_t>(-2);
  size_t lastClose = kNotSearched;
  tokens.fill();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const antlr4::Token* t = tokens.get(i);
    switch (t->getType()) {
      case DaeConfigLexer::BAD_CHAR:
        diags.error(tokenRange(file, t), "unexpected character " + describeToken(t));
        // Hide it from the parser so that it causes no further errors.
        if (auto* w = dynamic_cast<antlr4::WritableToken*>(tokens.get(i))) w->setChannel(antlr4::Token::HIDDEN_CHANNEL);
        break;
      case DaeConfigLexer::UNTERMINATED:
        diags.error(tokenRange(file, t), "unterminated quoted string");
        // Parse it as the quoted string it was meant to be, so that the lines after
        // it are checked normally instead of failing in error recovery.
        if (auto* w = dynamic_cast<antlr4::WritableToken*>(tokens.get(i))) w->setType(DaeConfigLexer::QUOTED);
        break;
      case DaeConfigLexer::NON_ID: {
        // '/*' with no '*/' anywhere after it lexes as a bare value; say what it is.
        if (scan.commentRunsToEof != static_cast<size_t>(-1) || t->getText().rfind("/*", 0) != 0) break;
        if (lastClose == kNotSearched) {
          // Where the input's last '*/' starts (in code points, like token indices), found
          // once: searching the rest of the input at every such token is quadratic.
          antlr4::CharStream* in = t->getInputStream();
          std::string all = in->getText(antlr4::misc::Interval(size_t{0}, in->size()));
          size_t at = all.rfind("*/");
          lastClose = at == std::string::npos
                          ? at
                          : static_cast<size_t>(std::count_if(all.begin(), all.begin() + at, [](char c) {
                              return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
                            }));
        }
        if (lastClose == std::string::npos || lastClose < t->getStartIndex() + 2) {
          SourceRange at = tokenRange(file, t);
          at.length = 2;
          diags.error(at, "unterminated /* comment");
          scan.commentRunsToEof = i;
        }
        break;
      }
      case DaeConfigLexer::LBRACE: {
        std::string name;
        if (i > 0 && tokens.get(i - 1)->getType() == DaeConfigLexer::ID) name = tokens.get(i - 1)->getText();
        scan.unclosed.emplace_back(t, name);
        if (scan.unclosed.size() > limits.maxDepth && !scan.tooDeep) {
          scan.tooDeep = true;
          diags.error(tokenRange(file, t),
                      "sections nested deeper than " + std::to_string(limits.maxDepth) + " levels");
        }
        break;
      }
      case DaeConfigLexer::RBRACE:
        if (scan.unclosed.empty()) {
          diags.error(tokenRange(file, t), "unmatched '}'");
        } else {
          scan.unclosed.pop_back();
        }
        break;
      default: break;
    }
  }
  return scan;
}

// Builds the AST from a parse tree that had no syntax errors.
class TreeBuilder {
 public:
  explicit TreeBuilder(uint32_t file) : file_(file) {}

  std::unique_ptr<ast::Section> section(DaeConfigParser::SectionContext* ctx) {
    auto s = std::make_unique<ast::Section>();
    s->name = ctx->name->getText();
    s->nameRange = tokenRange(file_, ctx->name);
    s->range = contextRange(file_, ctx);
    for (auto* item : ctx->item()) {
      if (auto* r = item->routingRule()) {
        s->items.emplace_back(rule(r));
      } else if (auto* d = item->declaration()) {
        s->items.emplace_back(declaration(d));
      } else if (auto* sub = item->section()) {
        s->items.emplace_back(section(sub));
      } else if (auto* li = item->literalItem()) {
        ast::LiteralItem l;
        l.value = literal(li->literal());
        if (li->annotation()) {
          l.hasAnnotation = true;
          l.annotation = params(li->annotation()->paramList());
        }
        s->items.emplace_back(std::move(l));
      }
    }
    return s;
  }

 private:
  ast::Literal literal(DaeConfigParser::LiteralContext* ctx) {
    ast::Literal l;
    l.range = contextRange(file_, ctx);
    std::string text = ctx->getText();
    if (ctx->QUOTED()) {
      l.quoted = true;
      char q = text.front();
      std::string body = text.substr(1, text.size() - 2);
      // Only an escaped delimiter is resolved; every other backslash is kept so that
      // regexes like '\.' mean what they say.
      std::string out;
      for (size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '\\' && i + 1 < body.size() && body[i + 1] == q) {
          out += q;
          ++i;
        } else {
          out += body[i];
        }
      }
      l.text = std::move(out);
    } else {
      l.text = std::move(text);
    }
    return l;
  }

  ast::Literal bareLiteral(DaeConfigParser::BareLiteralContext* ctx) {
    ast::Literal l;
    l.range = contextRange(file_, ctx);
    l.text = ctx->getText();
    return l;
  }

  std::vector<ast::Param> params(DaeConfigParser::ParamListContext* ctx) {
    std::vector<ast::Param> out;
    if (!ctx) return out;
    for (auto* p : ctx->param()) {
      ast::Param param;
      if (p->key) {
        param.key = p->key->getText();
        param.keyRange = tokenRange(file_, p->key);
      }
      param.value = literal(p->literal());
      param.range = contextRange(file_, p);
      out.push_back(std::move(param));
    }
    return out;
  }

  std::vector<ast::Call> conjunction(DaeConfigParser::ConjunctionContext* ctx) {
    std::vector<ast::Call> out;
    for (auto* c : ctx->call()) {
      ast::Call call;
      call.negated = c->negation != nullptr;
      call.name = c->name->getText();
      call.nameRange = tokenRange(file_, c->name);
      call.params = params(c->paramList());
      call.range = contextRange(file_, c);
      out.push_back(std::move(call));
    }
    return out;
  }

  ast::Declaration declaration(DaeConfigParser::DeclarationContext* ctx) {
    ast::Declaration d;
    d.key = ctx->key->getText();
    d.keyRange = tokenRange(file_, ctx->key);
    d.range = contextRange(file_, ctx);
    if (ctx->conjunction()) {
      d.isCalls = true;
      d.calls = conjunction(ctx->conjunction());
    } else if (ctx->literalList()) {
      for (auto* l : ctx->literalList()->literal()) d.values.push_back(literal(l));
    }
    if (ctx->annotation()) {
      d.hasAnnotation = true;
      d.annotation = params(ctx->annotation()->paramList());
    }
    return d;
  }

  ast::RoutingRule rule(DaeConfigParser::RoutingRuleContext* ctx) {
    ast::RoutingRule r;
    r.conditions = conjunction(ctx->conjunction());
    r.range = contextRange(file_, ctx);
    auto* ob = ctx->outbound();
    r.outbound.name = bareLiteral(ob->name);
    r.outbound.hasParens = ob->LPAREN() != nullptr;
    r.outbound.params = params(ob->paramList());
    r.outbound.range = contextRange(file_, ob);
    return r;
  }

  uint32_t file_;
};

}  // namespace

ast::File parseFile(const SourceManager& sources, uint32_t fileId, DiagnosticEngine& diags,
                    const ParseLimits& limits) {
  ast::File out;
  out.fileId = fileId;
  const std::string& text = sources.text(fileId);
  if (text.size() > limits.maxBytes) {
    diags.error({fileId, 1, 1, 1}, "file is larger than " + std::to_string(limits.maxBytes >> 20) + " MiB");
    return out;
  }
  size_t errorsBefore = diags.errorCount();

  if (size_t bad = invalidUtf8(text); bad != std::string::npos) {
    size_t lineStart = text.rfind('\n', bad == 0 ? 0 : bad - 1);
    lineStart = lineStart == std::string::npos || bad == 0 ? 0 : lineStart + 1;
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
    diags.error({fileId, static_cast<uint32_t>(1 + std::count(text.begin(), text.begin() + bad, '\n')),
                 static_cast<uint32_t>(bad - lineStart + 1), 1},
                std::string("the file is not valid UTF-8: unexpected byte ") + byte);
    return out;
  }

  antlr4::ANTLRInputStream input(text);
  ByteColumnTokenFactory tokenFactory(text);
  DaeConfigLexer lexer(&input);
  lexer.setTokenFactory(&tokenFactory);
  lexer.removeErrorListeners();  // every character lexes (BAD_CHAR), so no lexer errors
  antlr4::CommonTokenStream tokens(&lexer);
  TokenScan scan = scanTokens(fileId, tokens, diags, limits);
  if (scan.tooDeep) return out;

  DaeConfigParser parser(&tokens);
  parser.removeErrorListeners();
  ErrorListener listener(fileId, diags, tokens, scan);
  parser.addErrorListener(&listener);
  // SLL prediction is enough for this grammar and much faster than full LL.
  parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(antlr4::atn::PredictionMode::SLL);
  DaeConfigParser::ConfigContext* tree = parser.config();

  if (diags.errorCount() != errorsBefore) return out;
  TreeBuilder builder(fileId);
  for (auto* s : tree->section()) out.sections.push_back(builder.section(s));
  return out;
}

}  // namespace dae::frontend
