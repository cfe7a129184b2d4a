// Parser tests: the AST it builds, error recovery (every syntax error of a file in
// one run), and the limits that turn hostile input into diagnostics, not crashes.
#include "frontend/Parser.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>

#include "frontend/AstDump.h"
#include "frontend/Loader.h"

namespace dae::frontend {
namespace {

struct Parsed {
  SourceManager sources;
  DiagnosticEngine diags{sources};
  ast::File file;

  std::string text() const {
    std::ostringstream out;
    diags.print(out);
    return out.str();
  }
  std::vector<const Diagnostic*> errors() const {
    std::vector<const Diagnostic*> out;
    for (const auto& d : diags.all())
      if (d.severity == Severity::Error) out.push_back(&d);
    return out;
  }
  bool has(Severity s, const std::string& needle) const {
    for (const auto& d : diags.all())
      if (d.severity == s && d.message.find(needle) != std::string::npos) return true;
    return false;
  }
};

std::unique_ptr<Parsed> parse(std::string text, const ParseLimits& limits = {}) {
  auto p = std::make_unique<Parsed>();
  uint32_t id = p->sources.add("test.dae", std::move(text));
  p->file = parseFile(p->sources, id, p->diags, limits);
  return p;
}

// ---- the tree -------------------------------------------------------------------------

TEST(Parser, BuildsSectionsDeclarationsRulesAndLiterals) {
  auto p = parse(R"(global {
  tproxy_port: 12345
  lan_interface: eth0, 'br lan'
}
node {
  'socks5://1.2.3.4:1080'
  named: "ss://x" [tag: a]
}
routing {
  !dip(10.0.0.0/8) && l4proto(tcp) -> direct(mark: 0x10, must)
  domain(suffix: cn) -> proxy
  fallback: direct
}
)");
  ASSERT_EQ(p->diags.errorCount(), 0u) << p->text();
  ASSERT_EQ(p->file.sections.size(), 3u);

  const ast::Section& global = *p->file.sections[0];
  EXPECT_EQ(global.name, "global");
  EXPECT_EQ(global.nameRange.line, 1u);
  EXPECT_EQ(global.nameRange.col, 1u);
  EXPECT_EQ(global.nameRange.length, 6u);
  ASSERT_EQ(global.items.size(), 2u);
  const auto& port = std::get<ast::Declaration>(global.items[0]);
  EXPECT_EQ(port.key, "tproxy_port");
  EXPECT_EQ(port.keyRange.line, 2u);
  EXPECT_EQ(port.keyRange.col, 3u);
  ASSERT_EQ(port.values.size(), 1u);
  EXPECT_EQ(port.values[0].text, "12345");
  EXPECT_EQ(port.values[0].range.col, 16u);
  EXPECT_EQ(port.values[0].range.length, 5u);
  const auto& lan = std::get<ast::Declaration>(global.items[1]);
  ASSERT_EQ(lan.values.size(), 2u);
  EXPECT_EQ(lan.values[1].text, "br lan");
  EXPECT_TRUE(lan.values[1].quoted);
  EXPECT_EQ(lan.values[1].range.length, 8u);  // quotes included

  const ast::Section& node = *p->file.sections[1];
  ASSERT_EQ(node.items.size(), 2u);
  const auto& link = std::get<ast::LiteralItem>(node.items[0]);
  EXPECT_EQ(link.value.text, "socks5://1.2.3.4:1080");
  const auto& named = std::get<ast::Declaration>(node.items[1]);
  EXPECT_TRUE(named.hasAnnotation);
  ASSERT_EQ(named.annotation.size(), 1u);
  EXPECT_EQ(named.annotation[0].key.value_or(""), "tag");

  const ast::Section& routing = *p->file.sections[2];
  ASSERT_EQ(routing.items.size(), 3u);
  const auto& rule = std::get<ast::RoutingRule>(routing.items[0]);
  ASSERT_EQ(rule.conditions.size(), 2u);
  EXPECT_TRUE(rule.conditions[0].negated);
  EXPECT_EQ(rule.conditions[0].name, "dip");
  EXPECT_EQ(rule.conditions[0].nameRange.col, 4u);
  EXPECT_EQ(rule.conditions[0].params[0].value.text, "10.0.0.0/8");
  EXPECT_FALSE(rule.conditions[1].negated);
  EXPECT_EQ(rule.outbound.name.text, "direct");
  EXPECT_TRUE(rule.outbound.hasParens);
  ASSERT_EQ(rule.outbound.params.size(), 2u);
  EXPECT_EQ(rule.outbound.params[0].key.value_or(""), "mark");
  EXPECT_EQ(rule.outbound.params[0].value.text, "0x10");
  EXPECT_FALSE(rule.outbound.params[1].key.has_value());
  EXPECT_EQ(rule.range.line, 10u);
  EXPECT_EQ(rule.range.col, 3u);
  const auto& fallback = std::get<ast::Declaration>(routing.items[2]);
  EXPECT_EQ(fallback.key, "fallback");
}

TEST(Parser, NestedSections) {
  auto p = parse("group { proxy { policy: min } hk { policy: random } }\n");
  ASSERT_EQ(p->diags.errorCount(), 0u) << p->text();
  const auto& group = *p->file.sections[0];
  ASSERT_EQ(group.items.size(), 2u);
  const auto& hk = *std::get<std::unique_ptr<ast::Section>>(group.items[1]);
  EXPECT_EQ(hk.name, "hk");
  EXPECT_EQ(hk.nameRange.col, 31u);
  EXPECT_EQ(ast::itemKind(group.items[1]), std::string("section"));
}

TEST(Parser, QuotedStringsResolveOnlyTheEscapedDelimiter) {
  auto p = parse(R"(s { a: 'it\'s', "say \"hi\"", '\.\d', "'", '"' })");
  ASSERT_EQ(p->diags.errorCount(), 0u) << p->text();
  const auto& d = std::get<ast::Declaration>(p->file.sections[0]->items[0]);
  ASSERT_EQ(d.values.size(), 5u);
  EXPECT_EQ(d.values[0].text, "it's");
  EXPECT_EQ(d.values[1].text, "say \"hi\"");
  EXPECT_EQ(d.values[2].text, "\\.\\d");
  EXPECT_EQ(d.values[3].text, "'");
  EXPECT_EQ(d.values[4].text, "\"");
}

TEST(Parser, CommentsAndUpstreamTokens) {
  auto p = parse(R"(# line comment
routing { /* block
  comment */ dip(224.0.0.0/3, 'ff00::/8') -> direct  # trailing
  domain(geosite:geolocation-!cn) -> hk-01
}
)");
  ASSERT_EQ(p->diags.errorCount(), 0u) << p->text();
  const auto& items = p->file.sections[0]->items;
  ASSERT_EQ(items.size(), 2u);
  const auto& r = std::get<ast::RoutingRule>(items[1]);
  EXPECT_EQ(r.conditions[0].params[0].key.value_or(""), "geosite");
  EXPECT_EQ(r.conditions[0].params[0].value.text, "geolocation-!cn");
  EXPECT_EQ(r.outbound.name.text, "hk-01");
}

TEST(Parser, EmptyAndCommentOnlyFiles) {
  for (const char* text : {"", "\n\n", "# nothing\n", "/* x */", " \t\r\n"}) {
    auto p = parse(text);
    EXPECT_EQ(p->diags.errorCount(), 0u) << p->text();
    EXPECT_TRUE(p->file.sections.empty());
  }
}

TEST(Parser, CrLfLineEndings) {
  auto p = parse("global {\r\n  tproxy_port: 1\r\n}\r\nrouting {\r\n  x: \r\n}\r\n");
  ASSERT_EQ(p->diags.errorCount(), 1u) << p->text();
  EXPECT_EQ(p->errors()[0]->range.line, 6u);
  // The quoted line has no '\r'.
  EXPECT_EQ(p->text().find('\r'), std::string::npos);
}

// ---- UTF-8 and columns ------------------------------------------------------------------

TEST(ParserUtf8, InvalidUtf8IsAnErrorNotAnException) {
  // ANTLR's runtime throws std::range_error on these; the parser must report them.
  const char* bad[] = {"\xff", "\x80", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80",
                       "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xe4\xbd", "\xe4\xbd\n", "\xf0\x9f\x98"};
  for (const char* b : bad) {
    auto p = parse(std::string("global {}\n# caf") + b + "\nrouting {}\n");
    ASSERT_EQ(p->diags.errorCount(), 1u) << p->text();
    const Diagnostic& d = *p->errors()[0];
    EXPECT_NE(d.message.find("not valid UTF-8"), std::string::npos) << d.message;
    EXPECT_EQ(d.range.line, 2u);
    EXPECT_EQ(d.range.col, 6u);
    EXPECT_TRUE(p->file.sections.empty());
  }
  // At the very start and at the very end of the file.
  auto first = parse("\xfe");
  ASSERT_EQ(first->diags.errorCount(), 1u);
  EXPECT_EQ(first->errors()[0]->range.col, 1u);
  EXPECT_EQ(first->errors()[0]->message, "the file is not valid UTF-8: unexpected byte 0xFE");
  auto last = parse("a {}\n\xc3");
  ASSERT_EQ(last->diags.errorCount(), 1u);
  EXPECT_EQ(last->errors()[0]->range.line, 2u);
  EXPECT_EQ(last->errors()[0]->range.col, 1u);
}

TEST(ParserUtf8, ValidNonAsciiText) {
  auto p = parse("\xef\xbb\xbfnode {\n  hk: 'socks5://1.2.3.4:1080#\xe9\xa6\x99\xe6\xb8\xaf \xf0\x9f\x9a\x80'  # \xc3\xa9\n}\n");
  ASSERT_EQ(p->diags.errorCount(), 0u) << p->text();
  const auto& d = std::get<ast::Declaration>(p->file.sections[0]->items[0]);
  EXPECT_EQ(d.values[0].text, "socks5://1.2.3.4:1080#\xe9\xa6\x99\xe6\xb8\xaf \xf0\x9f\x9a\x80");
  // A BOM before the first section is whitespace; the section starts after its 3 bytes.
  EXPECT_EQ(p->file.sections[0]->nameRange.col, 4u);
}

TEST(ParserUtf8, ColumnsCountBytes) {
  // '\xe4\xbe\x8b\xe5\xad\x90' is two characters of three bytes each.
  auto p = parse("routing {\n  domain(suffix: '\xe4\xbe\x8b\xe5\xad\x90.com', full: b) -> direct\n}\n");
  ASSERT_EQ(p->diags.errorCount(), 0u) << p->text();
  const auto& rule = std::get<ast::RoutingRule>(p->file.sections[0]->items[0]);
  const ast::Call& call = rule.conditions[0];
  EXPECT_EQ(call.params[0].value.range.col, 18u);
  EXPECT_EQ(call.params[0].value.range.length, 12u);  // quotes and 10 bytes
  EXPECT_EQ(call.params[1].keyRange.col, 32u);
  EXPECT_EQ(call.range.col, 3u);
  EXPECT_EQ(call.range.length, 37u);  // through the ')'
  EXPECT_EQ(rule.outbound.name.range.col, 44u);

  auto e = parse("routing {\n  domain('\xe4\xbe\x8b\xe5\xad\x90.com') -> x ; \n}\n");
  ASSERT_EQ(e->diags.errorCount(), 1u) << e->text();
  EXPECT_EQ(e->errors()[0]->message, "unexpected character ';'");
  EXPECT_EQ(e->errors()[0]->range.col, 29u);
}

// ---- recovery: several errors in one run ---------------------------------------------------

TEST(ParserRecovery, ReportsEveryErrorOfTheFile) {
  auto p = parse(R"(global {
  tproxy_port: 12345
}
routing {
  dip(1.2.3.4 -> direct
  dport(80) && -> block
  domain(a) -> direct
  fallback: direct
}
node { 123dns.com:53 }
)");
  auto errors = p->errors();
  ASSERT_GE(errors.size(), 3u) << p->text();
  // The first three problems are on three different lines, each reported where it is.
  EXPECT_EQ(errors[0]->range.line, 5u) << p->text();
  EXPECT_EQ(errors[0]->range.col, 15u) << p->text();
  EXPECT_EQ(errors[0]->message, "expected ')' before '->'");
  EXPECT_EQ(errors[1]->range.line, 6u) << p->text();
  EXPECT_EQ(errors[1]->message, "unexpected '->'; expected '!' or a name");
  bool line10 = false;
  for (const auto* e : errors) line10 |= e->range.line == 10;
  EXPECT_TRUE(line10) << p->text();
  // The digit-prefix hint upstream users need.
  EXPECT_TRUE(p->has(Severity::Note, "a key must start with a letter or '_'")) << p->text();
  // No tree is returned from a file with syntax errors.
  EXPECT_TRUE(p->file.sections.empty());
}

TEST(ParserRecovery, OneErrorPerPosition) {
  auto p = parse("routing { a(b) -> -> -> c }\n");
  auto errors = p->errors();
  ASSERT_FALSE(errors.empty());
  for (size_t i = 1; i < errors.size(); ++i)
    EXPECT_FALSE(errors[i]->range.line == errors[i - 1]->range.line && errors[i]->range.col == errors[i - 1]->range.col)
        << p->text();
}

TEST(ParserRecovery, UnterminatedStringIsOneClearError) {
  auto p = parse("node {\n  a: 'socks5://x\n}\nrouting {}\n");
  ASSERT_GE(p->diags.errorCount(), 1u);
  EXPECT_EQ(p->errors()[0]->message, "unterminated quoted string");
  EXPECT_EQ(p->errors()[0]->range.line, 2u);
  EXPECT_EQ(p->errors()[0]->range.col, 6u);
  // Reported once, not again by the parser.
  size_t n = 0;
  for (const auto* e : p->errors()) n += e->message.find("unterminated") != std::string::npos;
  EXPECT_EQ(n, 1u) << p->text();
}

TEST(ParserRecovery, UnterminatedStringAtEndOfFile) {
  auto p = parse("node { a: \"abc");
  ASSERT_GE(p->diags.errorCount(), 1u);
  EXPECT_TRUE(p->has(Severity::Error, "unterminated quoted string")) << p->text();
}

TEST(ParserRecovery, BadCharacters) {
  auto p = parse("global {\n  a: b ; c\n  d: `e`\n}\n");
  EXPECT_TRUE(p->has(Severity::Error, "unexpected character ';'")) << p->text();
  EXPECT_TRUE(p->has(Severity::Error, "unexpected character '`'")) << p->text();
}

TEST(ParserRecovery, UnterminatedBlockComment) {
  auto p = parse("global {}\n/* never closed\nrouting {}\n");
  EXPECT_TRUE(p->has(Severity::Error, "unterminated /* comment")) << p->text();
  ASSERT_FALSE(p->errors().empty());
  EXPECT_EQ(p->errors()[0]->range.line, 2u);
  EXPECT_EQ(p->errors()[0]->range.col, 1u);
  // A '/*' value with a '*/' somewhere after it is no unterminated comment.
  auto q = parse("global { a: /*x*/y }\nrouting { /* c */ }\n");
  EXPECT_EQ(q->diags.errorCount(), 0u) << q->text();
}

TEST(ParserRecovery, UnclosedSectionPointsAtItsBrace) {
  auto p = parse("global {}\nrouting {\n  fallback: direct\n");
  EXPECT_TRUE(p->has(Severity::Error, "unexpected end of file")) << p->text();
  const Diagnostic* note = nullptr;
  for (const auto& d : p->diags.all())
    if (d.severity == Severity::Note) note = &d;
  ASSERT_NE(note, nullptr) << p->text();
  EXPECT_EQ(note->message, "section 'routing' opened here is never closed");
  EXPECT_EQ(note->range.line, 2u);
  EXPECT_EQ(note->range.col, 9u);
}

TEST(ParserRecovery, UnmatchedClosingBrace) {
  auto p = parse("global {}\n}\n");
  EXPECT_TRUE(p->has(Severity::Error, "unmatched '}'")) << p->text();
}

TEST(ParserRecovery, ErrorLimitStopsFlood) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "}\n";
  auto p = parse(text);
  EXPECT_EQ(p->diags.errorCount(), 200u);
  EXPECT_TRUE(p->has(Severity::Note, "too many errors")) << p->text();
}

// ---- limits ------------------------------------------------------------------------------

std::string nested(unsigned depth, bool closed) {
  std::string text;
  for (unsigned i = 0; i < depth; ++i) text += "s" + std::to_string(i) + " {\n";
  if (closed)
    for (unsigned i = 0; i < depth; ++i) text += "}\n";
  return text;
}

TEST(ParserLimits, NestingUpToTheLimitParses) {
  auto p = parse(nested(64, true));
  EXPECT_EQ(p->diags.errorCount(), 0u) << p->text();
  ASSERT_EQ(p->file.sections.size(), 1u);
}

TEST(ParserLimits, NestingPastTheLimitIsAnError) {
  auto p = parse(nested(65, true));
  ASSERT_EQ(p->diags.errorCount(), 1u) << p->text();
  EXPECT_EQ(p->errors()[0]->message, "sections nested deeper than 64 levels");
  EXPECT_EQ(p->errors()[0]->range.line, 65u);
  EXPECT_TRUE(p->file.sections.empty());
}

TEST(ParserLimits, VeryDeepNestingDoesNotOverflowTheStack) {
  // Far deeper than any recursion on the thread's stack could survive.
  for (bool closed : {true, false}) {
    auto p = parse(nested(100000, closed));
    EXPECT_TRUE(p->has(Severity::Error, "nested deeper than 64 levels")) << closed;
    EXPECT_TRUE(p->file.sections.empty());
  }
  std::string braces(200000, '{');
  auto p = parse("a " + braces);
  EXPECT_TRUE(p->has(Severity::Error, "nested deeper than 64 levels"));
}

TEST(ParserLimits, CustomDepth) {
  ParseLimits limits;
  limits.maxDepth = 3;
  EXPECT_EQ(parse(nested(3, true), limits)->diags.errorCount(), 0u);
  auto p = parse(nested(4, true), limits);
  EXPECT_TRUE(p->has(Severity::Error, "sections nested deeper than 3 levels")) << p->text();
}

TEST(ParserLimits, LongFlatConstructsAreFine) {
  // Long conjunctions, parameter lists and value lists are loops, not recursion.
  std::string rule = "routing { ";
  for (int i = 0; i < 20000; ++i) rule += (i ? " && " : "") + std::string("dport(") + std::to_string(i % 65536) + ")";
  rule += " -> direct\n";
  rule += "dip(";
  for (int i = 0; i < 20000; ++i) rule += (i ? ", " : "") + std::string("10.0.") + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256);
  rule += ") -> block\n}\nglobal { lan_interface: ";
  for (int i = 0; i < 20000; ++i) rule += (i ? ", " : "") + std::string("eth") + std::to_string(i);
  rule += " }\n";
  auto p = parse(rule);
  ASSERT_EQ(p->diags.errorCount(), 0u) << p->text().substr(0, 2000);
  const auto& items = p->file.sections[0]->items;
  EXPECT_EQ(std::get<ast::RoutingRule>(items[0]).conditions.size(), 20000u);
  EXPECT_EQ(std::get<ast::RoutingRule>(items[1]).conditions[0].params.size(), 20000u);
}

TEST(ParserLimits, ManyCommentLikeValuesTakeLinearTime) {
  // Each '/*x*/y' is a value that starts like a comment; looking for a '*/' after each
  // one through the rest of the input used to make this quadratic (minutes at 1 MB).
  std::string text = "global { a: ";
  for (int i = 0; i < 40000; ++i) text += "/*x*/y, ";
  text += "z }\n";
  auto start = std::chrono::steady_clock::now();
  auto p = parse(text);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(p->diags.errorCount(), 0u) << p->text().substr(0, 1000);
  EXPECT_LT(seconds, 5.0);
}

TEST(ParserLimits, HugeInputIsRefusedUpFront) {
  ParseLimits limits;
  limits.maxBytes = 1024;
  std::string text = "global {}\n# " + std::string(2000, 'x') + "\n";
  auto p = parse(text, limits);
  ASSERT_EQ(p->diags.errorCount(), 1u) << p->text();
  EXPECT_NE(p->errors()[0]->message.find("file is larger than"), std::string::npos) << p->text();
  EXPECT_EQ(p->errors()[0]->range.line, 1u);
  EXPECT_EQ(p->errors()[0]->range.col, 1u);
  EXPECT_TRUE(p->file.sections.empty());
  // At the limit exactly, the file is read.
  limits.maxBytes = text.size();
  EXPECT_EQ(parse(text, limits)->diags.errorCount(), 0u);
}

TEST(ParserLimits, DefaultLimitIs64MiB) {
  ParseLimits limits;
  EXPECT_EQ(limits.maxBytes, size_t{64} << 20);
  EXPECT_EQ(limits.maxDepth, 64u);
  // One byte over the default: refused before any lexing (this must be fast).
  std::string text(limits.maxBytes + 1, 'x');
  auto p = parse(std::move(text));
  ASSERT_EQ(p->diags.errorCount(), 1u);
  EXPECT_EQ(p->errors()[0]->message, "file is larger than 64 MiB");
}

TEST(ParserLimits, LoaderPassesLimitsThrough) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  LoadOptions options;
  options.limits.maxBytes = 10;
  ast::Config cfg = loadConfigText("big.dae", "global { } routing { }", sources, diags, {}, options);
  EXPECT_EQ(diags.errorCount(), 1u);
  ASSERT_EQ(cfg.files.size(), 1u);
  EXPECT_TRUE(cfg.files[0].sections.empty());
}

// ---- --emit=ast ---------------------------------------------------------------------------------

TEST(AstDump, StableGoldenOutput) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  ast::Config cfg = loadConfigText("/some/dir/golden.dae", R"(global {
  lan_interface: eth0, 'it\'s'
}
routing {
  !dip(10.0.0.0/8) && dport(80) -> direct(mark: 0x10)
  fallback: must_direct
}
node { 'socks5://h:1' [x: 1] }
)", sources, diags);
  ASSERT_EQ(diags.errorCount(), 0u);
  std::ostringstream out;
  dumpAst(cfg, sources, out);
  EXPECT_EQ(out.str(), R"(File golden.dae
  Section global <1:1>
    Declaration lan_interface <2:3> = eth0, 'it\'s'
  Section routing <4:1>
    Rule <5:3> !dip(10.0.0.0/8) && dport(80) -> direct(mark: 0x10)
    Declaration fallback <6:3> = must_direct
  Section node <8:1>
    Value <8:8> 'socks5://h:1' [x: 1]
)");
}

}  // namespace
}  // namespace dae::frontend
