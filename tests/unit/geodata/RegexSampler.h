// Random strings that a regex (the RE2 subset domain lists use) is likely to match,
// written independently of the matcher's own regex parser. Callers keep only samples
// RE2 confirms.
#pragma once
#include <cctype>
#include <random>
#include <string>
#include <vector>

namespace dae::test {

class RegexSampler {
 public:
  RegexSampler(const std::string& re, std::mt19937_64& rng) : s_(re), rng_(rng) {}

  std::string sample() {
    pos_ = 0;
    std::string out;
    alt(out);
    return out;
  }

 private:
  size_t pick(size_t n) { return n ? static_cast<size_t>(rng_() % n) : 0; }
  char letter() { return "abcdefghijklmnopqrstuvwxyz0123456789"[pick(36)]; }

  // One alternative, chosen at random, of the alternation from pos_ to the closing
  // ')' of this level (or the end); leaves pos_ at that ')'.
  void alt(std::string& out) {
    std::vector<std::pair<size_t, size_t>> alts;
    size_t start = pos_, depth = 0;
    size_t i = pos_;
    for (; i < s_.size(); ++i) {
      char c = s_[i];
      if (c == '\\') {
        ++i;
        continue;
      }
      if (c == '[') {
        ++i;
        if (i < s_.size() && s_[i] == '^') ++i;
        if (i < s_.size() && s_[i] == ']') ++i;
        while (i < s_.size() && s_[i] != ']') i += s_[i] == '\\' ? 2 : 1;
        continue;
      }
      if (c == '(') ++depth;
      if (c == ')') {
        if (depth == 0) break;
        --depth;
      }
      if (c == '|' && depth == 0) {
        alts.push_back({start, i});
        start = i + 1;
      }
    }
    alts.push_back({start, i});
    auto [b, e] = alts[pick(alts.size())];
    pos_ = b;
    while (pos_ < e) item(out);
    pos_ = i;  // at ')' or the end
  }

  void item(std::string& out) {
    size_t atomStart = pos_;
    std::string once;
    atom(once);
    size_t lo = 1, hi = 1;
    if (pos_ < s_.size()) {
      char q = s_[pos_];
      if (q == '*') lo = 0, hi = 2, ++pos_;
      else if (q == '+') lo = 1, hi = 3, ++pos_;
      else if (q == '?') lo = 0, hi = 1, ++pos_;
      else if (q == '{' && pos_ + 1 < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_ + 1]))) {
        size_t close = s_.find('}', pos_);
        std::string body = s_.substr(pos_ + 1, close - pos_ - 1);
        size_t comma = body.find(',');
        lo = std::stoul(body);
        hi = comma == std::string::npos ? lo : (comma + 1 < body.size() ? std::stoul(body.substr(comma + 1)) : lo + 2);
        pos_ = close + 1;
      }
      if (pos_ < s_.size() && s_[pos_] == '?' && (hi != 1 || lo != 1)) ++pos_;  // lazy
    }
    size_t n = lo + pick(hi - lo + 1);
    if (n == 0) return;
    out += once;
    for (size_t r = 1; r < n; ++r) {  // re-sample the atom for each repetition
      size_t save = pos_;
      pos_ = atomStart;
      std::string again;
      atom(again);
      pos_ = save;
      out += again;
    }
  }

  void atom(std::string& out) {
    char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      if (pos_ < s_.size() && s_[pos_] == '?') {
        while (pos_ < s_.size() && s_[pos_] != ':' && s_[pos_] != '>') ++pos_;
        ++pos_;
      }
      alt(out);
      ++pos_;  // ')'
      return;
    }
    if (c == '[') {
      out += classChar();
      return;
    }
    if (c == '\\') {
      char e = s_[pos_ + 1];
      pos_ += 2;
      if (e == 'd') out += static_cast<char>('0' + pick(10));
      else if (e == 'w' || e == 'S' || e == 'D' || e == 'W') out += e == 'W' ? '-' : (e == 'D' ? 'x' : letter());
      else if (e == 's') out += ' ';
      else if (e == 'b' || e == 'B' || e == 'A' || e == 'z') {
      } else out += e;
      return;
    }
    ++pos_;
    if (c == '^' || c == '$') return;
    if (c == '.') out += letter();
    else out += c;
  }

  char classChar() {
    size_t i = pos_ + 1;
    bool neg = i < s_.size() && s_[i] == '^';
    if (neg) ++i;
    std::string members;
    bool first = true;
    while (i < s_.size() && (s_[i] != ']' || first)) {
      first = false;
      char a = s_[i];
      if (a == '\\') {
        char e = s_[i + 1];
        i += 2;
        if (e == 'd') members += "0123456789";
        else if (e == 'w') members += "abcxyz019_";
        else members += e;
        continue;
      }
      if (i + 2 < s_.size() && s_[i + 1] == '-' && s_[i + 2] != ']') {
        for (char x = a; x <= s_[i + 2]; ++x) members += x;
        i += 3;
        continue;
      }
      members += a;
      ++i;
    }
    pos_ = i + 1;
    if (neg) {
      std::string pool = "abcdefghijklmnopqrstuvwxyz0123456789-.";
      std::string ok;
      for (char x : pool)
        if (members.find(x) == std::string::npos) ok += x;
      return ok.empty() ? 'a' : ok[pick(ok.size())];
    }
    return members.empty() ? 'a' : members[pick(members.size())];
  }

  const std::string& s_;
  std::mt19937_64& rng_;
  size_t pos_ = 0;
};

}  // namespace dae::test
