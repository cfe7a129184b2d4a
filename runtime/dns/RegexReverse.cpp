#include "dns/RegexReverse.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace dae::dns {

namespace {

struct Node {
  enum Kind { Alt, Cat, Atom, Group, Repeat, Begin, End, BeginText, EndText } kind;
  std::string text;  // Atom: verbatim; Group: the opening "(?:" / "(?i:"; Repeat: the quantifier
  std::vector<Node> kids;
};

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  std::optional<Node> parse() {
    Node n = alt();
    if (!ok_ || pos_ != s_.size()) return std::nullopt;
    return n;
  }

 private:
  bool more() const { return pos_ < s_.size(); }
  char peek() const { return s_[pos_]; }

  Node alt() {
    Node a{Node::Alt, {}, {}};
    a.kids.push_back(cat());
    while (ok_ && more() && peek() == '|') {
      ++pos_;
      a.kids.push_back(cat());
    }
    return a;
  }

  Node cat() {
    Node c{Node::Cat, {}, {}};
    while (ok_ && more() && peek() != '|' && peek() != ')') c.kids.push_back(repeat());
    return c;
  }

  // {n}, {n,}, {n,m} at pos_; its length, or 0 when '{' is a literal here.
  size_t braceLength() const {
    size_t i = pos_ + 1;
    size_t digits = 0;
    while (i < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i]))) ++i, ++digits;
    if (!digits) return 0;
    if (i < s_.size() && s_[i] == ',') {
      ++i;
      while (i < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i]))) ++i;
    }
    if (i >= s_.size() || s_[i] != '}') return 0;
    return i + 1 - pos_;
  }

  Node repeat() {
    Node n = atom();
    while (ok_ && more()) {
      size_t len = 0;
      if (peek() == '*' || peek() == '+' || peek() == '?') len = 1;
      else if (peek() == '{') len = braceLength();
      if (!len) break;
      std::string q = s_.substr(pos_, len);
      pos_ += len;
      if (more() && peek() == '?') {  // non-greedy: irrelevant to whether there is a match
        q += '?';
        ++pos_;
      }
      n = Node{Node::Repeat, q, {std::move(n)}};
    }
    return n;
  }

  Node fail() {
    ok_ = false;
    return Node{Node::Atom, {}, {}};
  }

  Node atom() {
    char c = peek();
    if (c == '(') return group();
    if (c == '[') return charClass();
    if (c == '\\') return escape();
    if (c == '^') return ++pos_, Node{Node::Begin, {}, {}};
    if (c == '$') return ++pos_, Node{Node::End, {}, {}};
    if (c == '*' || c == '+' || c == '?') return fail();
    if (c == '{' && braceLength()) return fail();
    // A literal (a whole UTF-8 sequence, so that reversing keeps it intact) or '.'.
    size_t len = 1;
    auto u = static_cast<unsigned char>(c);
    if (u >= 0xf0) len = 4;
    else if (u >= 0xe0) len = 3;
    else if (u >= 0xc0) len = 2;
    if (pos_ + len > s_.size()) return fail();
    Node n{Node::Atom, s_.substr(pos_, len), {}};
    pos_ += len;
    return n;
  }

  Node group() {
    size_t start = pos_++;
    if (more() && peek() == '?') {
      ++pos_;
      if (more() && (peek() == 'P' || peek() == '<')) {  // (?P<name>re) or (?<name>re)
        size_t close = s_.find('>', pos_);
        if (close == std::string::npos) return fail();
        pos_ = close + 1;
      } else {
        while (more() && (std::isalpha(static_cast<unsigned char>(peek())) || peek() == '-')) ++pos_;
        if (!more() || peek() != ':') return fail();  // (?i) sets flags for what follows: not reversible
        ++pos_;
      }
    }
    std::string open = s_.substr(start, pos_ - start);
    if (open == "(" || open[2] == 'P' || open[2] == '<') open = "(?:";  // captures do not matter
    Node inner = alt();
    if (!ok_ || !more() || peek() != ')') return fail();
    ++pos_;
    return Node{Node::Group, open, {std::move(inner)}};
  }

  Node charClass() {
    size_t start = pos_++;
    if (more() && peek() == '^') ++pos_;
    if (more() && peek() == ']') ++pos_;  // a leading ']' is literal
    while (more() && peek() != ']') {
      if (peek() == '\\') {
        pos_ += 2;
      } else if (peek() == '[' && pos_ + 1 < s_.size() && s_[pos_ + 1] == ':') {
        size_t close = s_.find(":]", pos_ + 2);
        if (close == std::string::npos) return fail();
        pos_ = close + 2;
      } else {
        ++pos_;
      }
    }
    if (!more()) return fail();
    ++pos_;
    return Node{Node::Atom, s_.substr(start, pos_ - start), {}};
  }

  Node escape() {
    if (pos_ + 1 >= s_.size()) return fail();
    char e = s_[pos_ + 1];
    size_t start = pos_;
    pos_ += 2;
    if (e == 'A') return Node{Node::BeginText, {}, {}};
    if (e == 'z') return Node{Node::EndText, {}, {}};
    if (e == 'Q' || e == 'C' || e == 'E' || std::isdigit(static_cast<unsigned char>(e))) return fail();
    if ((e == 'x' || e == 'p' || e == 'P') && more() && peek() == '{') {
      size_t close = s_.find('}', pos_);
      if (close == std::string::npos) return fail();
      pos_ = close + 1;
    } else if (e == 'x') {
      pos_ += 2;
    } else if ((e == 'p' || e == 'P') && more()) {
      ++pos_;
    }
    if (pos_ > s_.size()) return fail();
    return Node{Node::Atom, s_.substr(start, pos_ - start), {}};
  }

  const std::string& s_;
  size_t pos_ = 0;
  bool ok_ = true;
};

void emit(const Node& n, std::string& out) {
  switch (n.kind) {
    case Node::Alt:
      for (size_t i = 0; i < n.kids.size(); ++i) {
        if (i) out += '|';
        emit(n.kids[i], out);
      }
      break;
    case Node::Cat:
      for (size_t i = n.kids.size(); i-- > 0;) emit(n.kids[i], out);
      break;
    case Node::Atom: out += n.text; break;
    case Node::Group:
      out += n.text;
      emit(n.kids[0], out);
      out += ')';
      break;
    case Node::Repeat: {
      // The operand must stay one atom: wrap anything longer in a group.
      const Node& k = n.kids[0];
      bool single = k.kind == Node::Atom || k.kind == Node::Group;
      if (!single) out += "(?:";
      emit(k, out);
      if (!single) out += ')';
      out += n.text;
      break;
    }
    case Node::Begin: out += '$'; break;
    case Node::End: out += '^'; break;
    case Node::BeginText: out += "\\z"; break;
    case Node::EndText: out += "\\A"; break;
  }
}

// ---- signatures: the byte sets of the first positions of the reversed regex --------------

constexpr size_t kMaxSignature = 16;

void addByte(ByteSet& m, unsigned b) { m[b / 64] |= 1ULL << (b % 64); }
void addRange(ByteSet& m, unsigned lo, unsigned hi) {
  for (unsigned b = lo; b <= hi; ++b) addByte(m, b);
}
ByteSet complement(const ByteSet& m) { return {~m[0], ~m[1], ~m[2], ~m[3]}; }
ByteSet all() { return {~0ULL, ~0ULL, ~0ULL, ~0ULL}; }

// The byte set of a Perl class letter (d, w, s and upper case for the complement).
std::optional<ByteSet> perlClass(char e) {
  ByteSet m{};
  switch (std::tolower(static_cast<unsigned char>(e))) {
    case 'd': addRange(m, '0', '9'); break;
    case 'w': addRange(m, '0', '9'), addRange(m, 'a', 'z'), addRange(m, 'A', 'Z'), addByte(m, '_'); break;
    case 's': addByte(m, '\t'), addByte(m, '\n'), addByte(m, '\f'), addByte(m, '\r'), addByte(m, ' '); break;
    default: return std::nullopt;
  }
  return std::isupper(static_cast<unsigned char>(e)) ? complement(m) : m;
}

// One escaped character (after the backslash) as a single byte, or nullopt.
std::optional<unsigned> escapedByte(char e) {
  switch (e) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    case 'a': return '\a';
  }
  if (std::ispunct(static_cast<unsigned char>(e))) return static_cast<unsigned char>(e);
  return std::nullopt;
}

// A bracketed class `[...]` as a byte set, or nullopt for what it does not model.
std::optional<ByteSet> classSet(const std::string& t) {
  size_t i = 1;
  bool negated = i < t.size() && t[i] == '^';
  if (negated) ++i;
  ByteSet m{};
  size_t end = t.size() - 1;  // the closing ']'
  while (i < end) {
    unsigned lo;
    if (t[i] == '[') return std::nullopt;  // POSIX classes: not modelled
    if (t[i] == '\\') {
      if (i + 1 >= end) return std::nullopt;
      if (auto pc = perlClass(t[i + 1])) {
        for (int w = 0; w < 4; ++w) m[w] |= (*pc)[w];
        i += 2;
        continue;
      }
      auto b = escapedByte(t[i + 1]);
      if (!b) return std::nullopt;
      lo = *b;
      i += 2;
    } else {
      lo = static_cast<unsigned char>(t[i]);
      if (lo >= 0x80) return std::nullopt;
      ++i;
    }
    if (i + 1 < end && t[i] == '-') {
      unsigned hi;
      if (t[i + 1] == '\\') {
        if (i + 2 >= end) return std::nullopt;
        auto b = escapedByte(t[i + 2]);
        if (!b) return std::nullopt;
        hi = *b;
        i += 3;
      } else {
        hi = static_cast<unsigned char>(t[i + 1]);
        if (hi >= 0x80) return std::nullopt;
        i += 2;
      }
      if (hi < lo) return std::nullopt;
      addRange(m, lo, hi);
    } else {
      addByte(m, lo);
    }
  }
  return negated ? complement(m) : m;
}

// The single byte set an atom consumes, or nullopt (zero-width or not modelled).
std::optional<ByteSet> atomSet(const std::string& t) {
  if (t.empty()) return std::nullopt;
  if (t == ".") return all();
  if (t[0] == '[') return classSet(t);
  if (t[0] == '\\') {
    if (t.size() != 2) return std::nullopt;
    if (auto pc = perlClass(t[1])) return pc;
    auto b = escapedByte(t[1]);
    if (!b) return std::nullopt;
    ByteSet m{};
    addByte(m, *b);
    return m;
  }
  auto u = static_cast<unsigned char>(t[0]);
  ByteSet m{};
  if (t.size() == 1 && u < 0x80) addByte(m, u);
  return m;  // a non-ASCII literal: no ASCII byte fits (the empty set)
}

// One way through the regex's leading fixed-width part.
struct Sig {
  std::vector<SigItem> sets;
  bool complete = true;  // the part was exactly sets.size() bytes wide and fully modelled
};
using Sigs = std::vector<Sig>;  // the alternatives

constexpr size_t kMaxAlternatives = 32;

// Every alternative of `a` followed by every alternative of `b` (alternatives that
// ended incomplete stay as they are).
Sigs concat(const Sigs& a, const Sigs& b) {
  Sigs out;
  for (const Sig& x : a) {
    if (!x.complete || x.sets.size() >= kMaxSignature) {
      out.push_back(x);
      continue;
    }
    for (const Sig& y : b) {
      Sig z = x;
      z.sets.insert(z.sets.end(), y.sets.begin(), y.sets.end());
      z.complete = y.complete;
      if (z.sets.size() > kMaxSignature) z.sets.resize(kMaxSignature), z.complete = false;
      out.push_back(std::move(z));
    }
  }
  return out;
}

Sigs stopped(Sigs s) {
  for (Sig& x : s) x.complete = false;
  return s;
}

// The signatures of `n` read backwards (the order of the reversed regex).
Sigs signature(const Node& n) {
  switch (n.kind) {
    case Node::Atom: {
      Sig s;
      if (auto m = atomSet(n.text)) s.sets.push_back(SigItem{*m, false, false});
      else s.complete = false;
      return {s};
    }
    case Node::Cat: {
      Sigs out{Sig{}};
      for (size_t i = n.kids.size(); i-- > 0;) {
        Sigs k = signature(n.kids[i]);
        if (out.size() * k.size() > kMaxAlternatives) return stopped(out);
        out = concat(out, k);
        if (std::none_of(out.begin(), out.end(), [](const Sig& x) { return x.complete; })) break;
      }
      return out;
    }
    case Node::Group:
      // Flags ((?i:...) folds case, (?m:...) makes ^ and $ line anchors): not modelled.
      if (n.text != "(?:") return {Sig{{}, false}};
      return signature(n.kids[0]);
    case Node::Alt: {
      Sigs out;
      for (const Node& a : n.kids) {
        Sigs k = signature(a);
        out.insert(out.end(), k.begin(), k.end());
      }
      if (out.size() > kMaxAlternatives) return {Sig{{}, false}};
      return out;
    }
    case Node::Repeat: {
      const std::string& q = n.text;
      size_t min = 0;
      bool exact = false;
      if (q[0] == '+') min = 1;
      else if (q[0] == '{') {
        min = std::stoul(q.substr(1));
        exact = q.find(',') == std::string::npos;
      }
      size_t max = exact ? min : SIZE_MAX;
      if (q[0] == '?') max = 1;
      else if (q[0] == '{' && q.find(',') != std::string::npos && q[q.find(',') + 1] != '}')
        max = std::stoul(q.substr(q.find(',') + 1));
      Sigs k = signature(n.kids[0]);
      Sigs out{Sig{}};
      for (size_t r = 0; r < min && r < kMaxSignature; ++r) {
        if (out.size() * k.size() > kMaxAlternatives) return stopped(out);
        out = concat(out, k);
      }
      if (max == min) return out;
      if (max == SIZE_MAX || max - min > 3) {
        // x*, x+, x{n,}, x{n,m}: a looping item when x is one byte set (for x{n,m}
        // that also admits more than m: still a necessary condition).
        const bool oneByte = k.size() == 1 && k[0].complete && k[0].sets.size() == 1 && !k[0].sets[0].star &&
                             !k[0].sets[0].end;
        if (!oneByte) return stopped(out);
        return concat(out, Sigs{Sig{{SigItem{k[0].sets[0].set, true, false}}, true}});
      }
      // A few optional repetitions (x?, x{1,3}): each count is one more alternative.
      Sigs all = out;
      for (size_t r = min; r < max; ++r) {
        if (out.size() * k.size() + all.size() > kMaxAlternatives) return stopped(all);
        out = concat(out, k);
        all.insert(all.end(), out.begin(), out.end());
      }
      return all;
    }
    case Node::Begin:
    case Node::BeginText:  // the start of the name: in the reversed name, its end
      return {Sig{{SigItem{{}, false, true}}, false}};
    default: return {Sig{{}, false}};  // other anchors: zero-width
  }
}

// The longest run of literal characters the regex must contain (top level only).
std::string requiredLiteral(const Node& tree) {
  if (tree.kind != Node::Alt || tree.kids.size() != 1) return {};
  std::string best, run;
  for (const Node& k : tree.kids[0].kids) {
    std::optional<char> c;
    if (k.kind == Node::Atom && k.text.size() == 1 && static_cast<unsigned char>(k.text[0]) < 0x80 && k.text != ".")
      c = k.text[0];
    else if (k.kind == Node::Atom && k.text.size() == 2 && k.text[0] == '\\' &&
             std::ispunct(static_cast<unsigned char>(k.text[1])))
      c = k.text[1];
    if (c) {
      run += *c;
      if (run.size() > best.size()) best = run;
    } else {
      run.clear();
    }
  }
  return best;
}

}  // namespace

std::optional<ReversedRegex> reverseRegex(const std::string& re) {
  auto tree = Parser(re).parse();
  if (!tree) return std::nullopt;
  ReversedRegex out;
  out.literal = requiredLiteral(*tree);
  // Anchored when every alternative ends with `$` (or \z): reversed, they begin with it.
  bool anchored = !tree->kids.empty();
  for (const Node& alt : tree->kids) {
    const Node* last = alt.kids.empty() ? nullptr : &alt.kids.back();
    anchored = anchored && last && (last->kind == Node::End || last->kind == Node::EndText);
  }
  if (anchored) {
    for (Node& alt : tree->kids) alt.kids.pop_back();
    for (Sig& sig : signature(*tree)) out.signatures.push_back(std::move(sig.sets));
    for (size_t i = 0; i < tree->kids.size(); ++i) {
      if (i) out.pattern += '|';
      out.pattern += "(?:";
      emit(tree->kids[i], out.pattern);
      out.pattern += ')';
    }
    out.anchoredStart = true;
  } else {
    emit(*tree, out.pattern);
  }
  return out;
}

}  // namespace dae::dns
