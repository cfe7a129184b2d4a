// Diagnostics: clang-style formatting (location, caret, tildes, tabs), counting,
// the error limit, and the "did you mean" helper.
#include "frontend/Diagnostics.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace dae::frontend {
namespace {

class DiagnosticsTest : public ::testing::Test {
 protected:
  SourceManager sources;
  DiagnosticEngine diags{sources};
};

TEST_F(DiagnosticsTest, FormatWithCaretAndTildes) {
  uint32_t f = sources.add("dir/a.dae", "global {\n  tproxy_port: abc\n}\n");
  diags.error({f, 2, 16, 3}, "'tproxy_port': invalid number 'abc'");
  ASSERT_EQ(diags.all().size(), 1u);
  EXPECT_EQ(diags.format(diags.all()[0]),
            "dir/a.dae:2:16: error: 'tproxy_port': invalid number 'abc'\n"
            "  tproxy_port: abc\n"
            "               ^~~\n");
}

TEST_F(DiagnosticsTest, SeverityWords) {
  uint32_t f = sources.add("a.dae", "x\n");
  diags.warning({f, 1, 1, 1}, "w");
  diags.note({f, 1, 1, 1}, "n");
  diags.error({f, 1, 1, 1}, "e");
  std::ostringstream out;
  diags.print(out);
  EXPECT_EQ(out.str(),
            "a.dae:1:1: warning: w\nx\n^\n"
            "a.dae:1:1: note: n\nx\n^\n"
            "a.dae:1:1: error: e\nx\n^\n");
  EXPECT_EQ(diags.errorCount(), 1u);
  EXPECT_EQ(diags.warningCount(), 1u);
  EXPECT_TRUE(diags.hasErrors());
}

TEST_F(DiagnosticsTest, TabsAreKeptInTheCaretLine) {
  uint32_t f = sources.add("t.dae", "routing {\n\t\tdport(x) -> direct\n}\n");
  // `x` is at byte column 9: two tabs, then "dport(".
  diags.error({f, 2, 9, 1}, "bad port");
  std::string s = diags.format(diags.all()[0]);
  EXPECT_EQ(s,
            "t.dae:2:9: error: bad port\n"
            "\t\tdport(x) -> direct\n"
            "\t\t      ^\n");
}

TEST_F(DiagnosticsTest, MixedTabsAndSpaces) {
  uint32_t f = sources.add("t.dae", " \t a: \tb\n");
  diags.error({f, 1, 8, 1}, "here");
  EXPECT_EQ(diags.format(diags.all()[0]), "t.dae:1:8: error: here\n \t a: \tb\n \t    \t^\n");
}

TEST_F(DiagnosticsTest, CaretUnderWideAndMultiByteCharacters) {
  // Columns count bytes; the caret line counts terminal columns: a CJK character is
  // three bytes wide in the file and two columns wide on the screen.
  uint32_t f = sources.add("t.dae", "  domain(\xe4\xbe\x8b\xe5\xad\x90.com) -> ; direct\n"
                                    "  name(caf\xc3\xa9) -> x ;\n");
  diags.error({f, 1, 25, 1}, "semicolon");  // 2 + 7 + 6 + 9 = 24 bytes before it
  diags.error({f, 1, 10, 3}, "first wide character");
  diags.error({f, 2, 20, 1}, "after an accent");  // 'é' is 2 bytes, 1 column
  EXPECT_EQ(diags.format(diags.all()[0]),
            "t.dae:1:25: error: semicolon\n"
            "  domain(\xe4\xbe\x8b\xe5\xad\x90.com) -> ; direct\n" +
                std::string(2 + 7 + 2 * 2 + 9, ' ') + "^\n");
  EXPECT_EQ(diags.format(diags.all()[1]),
            "t.dae:1:10: error: first wide character\n"
            "  domain(\xe4\xbe\x8b\xe5\xad\x90.com) -> ; direct\n"
            "         ^~\n");
  EXPECT_EQ(diags.format(diags.all()[2]),
            "t.dae:2:20: error: after an accent\n"
            "  name(caf\xc3\xa9) -> x ;\n" +
                std::string(18, ' ') + "^\n");
}

TEST_F(DiagnosticsTest, ByteOrderMarkTakesNoColumn) {
  uint32_t f = sources.add("t.dae", "\xef\xbb\xbfglobal x\n");
  diags.error({f, 1, 11, 1}, "x");
  EXPECT_EQ(diags.format(diags.all()[0]), "t.dae:1:11: error: x\n\xef\xbb\xbfglobal x\n       ^\n");
}

TEST_F(DiagnosticsTest, TildesAreClampedToTheLine) {
  uint32_t f = sources.add("t.dae", "abc\ndef\n");
  diags.error({f, 1, 2, 100}, "long");
  EXPECT_EQ(diags.format(diags.all()[0]), "t.dae:1:2: error: long\nabc\n ^~\n");
}

TEST_F(DiagnosticsTest, CaretPastTheEndOfTheLine) {
  uint32_t f = sources.add("t.dae", "abc\n");
  diags.error({f, 1, 4, 1}, "end");      // just past the last character (EOF-style)
  diags.error({f, 1, 50, 3}, "far");     // a column beyond the line
  diags.error({f, 2, 1, 1}, "last line");  // the empty line after the final newline
  diags.error({f, 99, 1, 1}, "no line");   // past the file
  EXPECT_EQ(diags.format(diags.all()[0]), "t.dae:1:4: error: end\nabc\n   ^\n");
  EXPECT_EQ(diags.format(diags.all()[1]), "t.dae:1:50: error: far\nabc\n   ^\n");
  EXPECT_EQ(diags.format(diags.all()[2]), "t.dae:2:1: error: last line\n\n^\n");
  EXPECT_EQ(diags.format(diags.all()[3]), "t.dae:99:1: error: no line\n\n^\n");
}

TEST_F(DiagnosticsTest, CrLfIsNotQuoted) {
  uint32_t f = sources.add("t.dae", "a: b\r\nc: d\r\n");
  diags.error({f, 2, 1, 1}, "x");
  EXPECT_EQ(diags.format(diags.all()[0]), "t.dae:2:1: error: x\nc: d\n^\n");
}

TEST_F(DiagnosticsTest, NoLocation) {
  diags.error({}, "cannot read 'x.dae': No such file or directory");
  EXPECT_EQ(diags.format(diags.all()[0]), "daec: error: cannot read 'x.dae': No such file or directory\n");
  // A range with a file but no line is not a location either.
  uint32_t f = sources.add("t.dae", "x\n");
  diags.warning({f, 0, 0, 0}, "w");
  EXPECT_EQ(diags.format(diags.all()[1]), "daec: warning: w\n");
}

TEST_F(DiagnosticsTest, Color) {
  uint32_t f = sources.add("t.dae", "abc\n");
  diags.error({f, 1, 1, 3}, "m");
  std::string s = diags.format(diags.all()[0], /*color=*/true);
  EXPECT_NE(s.find("\033[1;31merror: "), std::string::npos) << s;
  EXPECT_NE(s.find("\033[1;32m^~~"), std::string::npos) << s;
  EXPECT_NE(s.find("\033[0m"), std::string::npos) << s;
  // Without color, no escape at all.
  EXPECT_EQ(diags.format(diags.all()[0]).find('\033'), std::string::npos);
}

TEST_F(DiagnosticsTest, ErrorLimit) {
  diags.setErrorLimit(3);
  for (int i = 0; i < 10; ++i) diags.error({}, "e" + std::to_string(i));
  diags.warning({}, "still recorded");
  EXPECT_EQ(diags.errorCount(), 3u);
  EXPECT_TRUE(diags.limitReached());
  ASSERT_EQ(diags.all().size(), 5u);
  EXPECT_EQ(diags.all()[3].severity, Severity::Note);
  EXPECT_EQ(diags.all()[3].message, "too many errors; stopping here");
  EXPECT_EQ(diags.all()[4].message, "still recorded");
}

TEST_F(DiagnosticsTest, ZeroLimitMeansUnlimited) {
  diags.setErrorLimit(0);
  for (int i = 0; i < 1000; ++i) diags.error({}, "e");
  EXPECT_EQ(diags.errorCount(), 1000u);
  EXPECT_FALSE(diags.limitReached());
}

TEST_F(DiagnosticsTest, DefaultLimitIs200) {
  for (int i = 0; i < 300; ++i) diags.error({}, "e");
  EXPECT_EQ(diags.errorCount(), 200u);
}

TEST(SourceManager, IdsAndLines) {
  SourceManager sm;
  uint32_t a = sm.add("a", "one\ntwo\n\nfour");
  uint32_t b = sm.add("b", "");
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  EXPECT_EQ(sm.fileCount(), 2u);
  EXPECT_EQ(sm.path(a), "a");
  EXPECT_EQ(sm.line(a, 1), "one");
  EXPECT_EQ(sm.line(a, 2), "two");
  EXPECT_EQ(sm.line(a, 3), "");
  EXPECT_EQ(sm.line(a, 4), "four");
  EXPECT_EQ(sm.line(a, 5), "");
  EXPECT_EQ(sm.line(a, 0), "");
  EXPECT_EQ(sm.line(b, 1), "");
  EXPECT_THROW(sm.path(0), std::out_of_range);
  EXPECT_THROW(sm.text(3), std::out_of_range);
}

// ---- closestMatch ------------------------------------------------------------------------

TEST(ClosestMatch, FindsTypos) {
  std::vector<std::string> keys = {"tproxy_port", "tproxy_port_protect", "so_mark_from_dae", "log_level"};
  EXPECT_EQ(closestMatch("tproxy_prot", keys), "tproxy_port");
  EXPECT_EQ(closestMatch("tproxyport", keys), "tproxy_port");
  EXPECT_EQ(closestMatch("loglevel", keys), "log_level");
  EXPECT_EQ(closestMatch("so_mark_from_da", keys), "so_mark_from_dae");
  EXPECT_EQ(closestMatch("log_level", keys), "log_level");  // exact
}

TEST(ClosestMatch, NothingCloseEnough) {
  std::vector<std::string> keys = {"global", "routing", "dns"};
  EXPECT_EQ(closestMatch("xyzzy", keys), "");
  EXPECT_EQ(closestMatch("completely_different", keys), "");
  EXPECT_EQ(closestMatch("x", {}), "");
}

TEST(ClosestMatch, ShortWordsAllowTwoEdits) {
  // At least two edits are always allowed, more for long words (a third of the length).
  EXPECT_EQ(closestMatch("sip", {"dip"}), "dip");
  EXPECT_EQ(closestMatch("ab", {"dip"}), "");
  EXPECT_EQ(closestMatch("dp", {"dip"}), "dip");
  EXPECT_EQ(closestMatch("", {"abc"}), "");
  EXPECT_EQ(closestMatch("abcdefghi", {"abcdefxyz"}), "abcdefxyz");   // 3 edits, 9 chars
  EXPECT_EQ(closestMatch("abcdefghi", {"abcdewxyz"}), "");            // 4 edits
}

TEST(ClosestMatch, PrefersTheClosestAndTheFirstOnTies) {
  EXPECT_EQ(closestMatch("routin", {"routes", "routing"}), "routing");
  EXPECT_EQ(closestMatch("dxp", {"dip", "dup"}), "dip");
}

}  // namespace
}  // namespace dae::frontend
