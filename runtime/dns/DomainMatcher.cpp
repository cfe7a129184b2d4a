#include "dns/DomainMatcher.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "dns/RegexReverse.h"

namespace dae::dns {

namespace {

using dae::dns::ByteSet;
using dae::dns::SigItem;
constexpr uint32_t kNone = UINT32_MAX;
constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr uint64_t kFib = 0x9e3779b97f4a7c15ULL;
constexpr uint64_t kFilterMul = 0xc2b2ae3d27d4eb4fULL;

inline char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string lowerTrim(const std::string& v, bool stripLeadingDot) {
  std::string s;
  s.reserve(v.size());
  for (char c : v) s.push_back(lowerAscii(c));
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (stripLeadingDot && !s.empty() && s.front() == '.') s.erase(0, 1);
  return s;
}

// FNV-1a over the string read from its end: one pass over a name yields the hash of
// every suffix, which is what the suffix table is keyed by.
uint64_t reverseHash(const char* s, size_t n) {
  uint64_t h = kFnvBasis;
  for (size_t i = n; i-- > 0;) h = (h ^ static_cast<uint8_t>(s[i])) * kFnvPrime;
  return h;
}

}  // namespace

std::string normalizeDomain(std::string name) {
  for (char& c : name) c = lowerAscii(c);
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

struct DomainMatcher::Impl {
  uint32_t sets = 0;
  uint32_t w64 = 1;                // 64-bit words per bitmap
  std::vector<uint64_t> pool;      // interned bitmaps, w64 words each
  uint32_t always = kNone;         // sets holding an empty keyword

  // Suffix and full patterns. A record in `arena` per distinct string: word 0 the
  // bitmap of the sets holding it as a suffix, word 1 as a full name, word 2 its
  // length, then its bytes (padded to 4), so verifying a hit and reading its bitmaps
  // touch one cache line. Open addressing over the records: slot = (hash >> 32) << 32 |
  // (record offset + 1), 0 empty. `filter` (one bit per hash, 16 bits per record)
  // answers most absent suffixes from a table small enough to stay in cache.
  std::vector<uint32_t> arena;  // records, 4-byte words
  std::vector<uint64_t> slots;
  uint64_t slotMask = 0;
  int slotShift = 64;
  std::vector<uint64_t> filter;
  int filterShift = 64;
  size_t records = 0;
  size_t maxLen = 0;

  // Keywords: Aho-Corasick as a dense DFA over byte classes (class 0: bytes in no keyword).
  std::array<uint8_t, 256> cls{};
  uint32_t classes = 1;
  std::vector<uint32_t> delta;  // state * classes + class -> state
  std::vector<uint32_t> out;    // per state: bitmap of every keyword ending here, or kNone
  bool hasKeywords = false;

  // Regexes. A regex anchored at the end (`...\.example\.com$`) runs reversed, anchored
  // at the start of the reversed name: RE2's DFA stops at the first bytes that fit no
  // pattern. The others run forwards; names with non-ASCII bytes run every regex
  // forwards (reversing bytes would split UTF-8 sequences).
  struct RegexGroup {
    std::unique_ptr<re2::RE2::Set> set;
    std::vector<uint32_t> bm;                     // by RE2::Set index
    std::vector<std::unique_ptr<re2::RE2>> each;  // when the set's DFA runs out of memory
    bool anchored = false;
    std::unordered_map<std::string, int> index;
    std::vector<std::vector<uint64_t>> bits;
  };
  RegexGroup reversed, forward, all;
  // A DFA over the reversed name from the reversed regexes' signatures (the byte sets
  // their first positions need, see RegexReverse.h): most names die in it after a few
  // bytes and never reach RE2. A regex whose signatures say little is asked for by a
  // literal it must contain instead; with neither, every ASCII name goes to RE2.
  struct Prefilter {
    bool use = false;
    std::array<uint8_t, 256> cls{};
    uint32_t classes = 0;
    std::vector<uint16_t> next;  // state * classes + class
    std::vector<uint8_t> endAccept;  // the name may end in this state
    std::vector<std::string> literals;
  } prefilter;

  std::vector<uint64_t> regexSets;  // sets holding a regex: skip the regexes once all are set

  // ---- building ----
  std::unordered_map<std::string, uint32_t> interned;

  uint32_t intern(const uint64_t* bits) {
    bool any = false;
    for (uint32_t w = 0; w < w64; ++w) any |= bits[w] != 0;
    if (!any) return kNone;
    std::string key(reinterpret_cast<const char*>(bits), w64 * 8);
    auto [it, fresh] = interned.emplace(key, static_cast<uint32_t>(pool.size()));
    if (fresh) pool.insert(pool.end(), bits, bits + w64);
    return it->second;
  }

  static bool equalBytes(const char* a, const char* b, size_t n) {
    for (; n >= 8; n -= 8, a += 8, b += 8) {
      uint64_t x, y;
      std::memcpy(&x, a, 8);
      std::memcpy(&y, b, 8);
      if (x != y) return false;
    }
    for (; n; --n)
      if (*a++ != *b++) return false;
    return true;
  }

  bool mayHave(uint64_t h) const {
    uint64_t bit = (h * kFilterMul) >> filterShift;
    return (filter[bit >> 6] >> (bit & 63)) & 1;
  }

  // The record of the string s[0, n) with hash h, or null.
  const uint32_t* find(uint64_t h, const char* s, size_t n) const {
    size_t i = static_cast<size_t>((h * kFib) >> slotShift);
    const uint64_t tag = h >> 32;
    while (true) {
      uint64_t slot = slots[i];
      if (!slot) return nullptr;
      if ((slot >> 32) == tag) {
        const uint32_t* at = &arena[static_cast<uint32_t>(slot) - 1];
        if (at[2] == n && equalBytes(reinterpret_cast<const char*>(at + 3), s, n)) return at;
      }
      i = (i + 1) & slotMask;
    }
  }

  void buildTable(const std::vector<std::pair<std::string, std::pair<bool, uint32_t>>>& entries) {
    // Distinct strings with the bitmaps of the sets they belong to.
    std::unordered_map<std::string_view, uint32_t> index;
    std::vector<std::string_view> strings;
    std::vector<uint64_t> suffixBits, fullBits;
    for (const auto& [v, what] : entries) {
      auto it = index.find(v);
      if (it == index.end()) {
        it = index.emplace(v, static_cast<uint32_t>(strings.size())).first;
        strings.push_back(v);
        suffixBits.resize(suffixBits.size() + w64, 0);
        fullBits.resize(fullBits.size() + w64, 0);
      }
      auto [isFull, set] = what;
      (isFull ? fullBits : suffixBits)[it->second * w64 + set / 64] |= 1ULL << (set % 64);
    }
    records = strings.size();
    if (!records) return;
    size_t cap = 2;
    int bitsLog = 1;
    while (cap < records * 2) cap <<= 1, ++bitsLog;
    slots.assign(cap, 0);
    slotMask = cap - 1;
    slotShift = 64 - bitsLog;
    size_t fbits = 64;
    int fLog = 6;
    while (fbits < records * 16) fbits <<= 1, ++fLog;
    filter.assign(fbits / 64, 0);
    filterShift = 64 - fLog;
    for (size_t k = 0; k < records; ++k) {
      std::string_view v = strings[k];
      maxLen = std::max(maxLen, v.size());
      size_t off = arena.size();
      arena.resize(off + 3 + (v.size() + 3) / 4, 0);
      arena[off] = intern(&suffixBits[k * w64]);
      arena[off + 1] = intern(&fullBits[k * w64]);
      arena[off + 2] = static_cast<uint32_t>(v.size());
      std::memcpy(&arena[off + 3], v.data(), v.size());
      uint64_t h = reverseHash(v.data(), v.size());
      size_t i = static_cast<size_t>((h * kFib) >> slotShift);
      while (slots[i]) i = (i + 1) & slotMask;
      slots[i] = ((h >> 32) << 32) | (off + 1);
      uint64_t bit = (h * kFilterMul) >> filterShift;
      filter[bit >> 6] |= 1ULL << (bit & 63);
    }
    arena.shrink_to_fit();
  }

  void buildKeywords(const std::vector<std::pair<std::string, uint32_t>>& keywords) {
    if (keywords.empty()) return;
    hasKeywords = true;
    for (const auto& [k, set] : keywords)
      for (unsigned char c : k)
        if (!cls[c]) cls[c] = static_cast<uint8_t>(classes++);
    // The trie (delta entries 0 = no edge yet; no edge ever leads back to the root).
    delta.assign(classes, 0);
    std::vector<uint64_t> bits(w64, 0);
    for (const auto& [k, set] : keywords) {
      uint32_t s = 0;
      for (unsigned char c : k) {
        uint32_t& next = delta[s * classes + cls[c]];
        if (!next) {
          next = static_cast<uint32_t>(delta.size() / classes);
          delta.resize(delta.size() + classes, 0);  // invalidates `next`: written above first
          bits.resize(bits.size() + w64, 0);
        }
        s = delta[s * classes + cls[c]];
      }
      bits[s * w64 + set / 64] |= 1ULL << (set % 64);
    }
    // Breadth first: failure links, outputs merged along them, missing edges filled in.
    uint32_t states = static_cast<uint32_t>(delta.size() / classes);
    std::vector<uint32_t> fail(states, 0);
    std::deque<uint32_t> queue;
    for (uint32_t c = 0; c < classes; ++c)
      if (uint32_t t = delta[c]) queue.push_back(t);
    while (!queue.empty()) {
      uint32_t s = queue.front();
      queue.pop_front();
      for (uint32_t w = 0; w < w64; ++w) bits[s * w64 + w] |= bits[fail[s] * w64 + w];
      for (uint32_t c = 0; c < classes; ++c) {
        uint32_t& t = delta[s * classes + c];
        uint32_t viaFail = delta[fail[s] * classes + c];
        if (t) {
          fail[t] = viaFail;
          queue.push_back(t);
        } else {
          t = viaFail;
        }
      }
    }
    out.resize(states);
    for (uint32_t s = 0; s < states; ++s) out[s] = intern(&bits[s * w64]);
  }

  // Adds `re` for `set` to a group; false when RE2 rejects it (error in `err`).
  bool addRegex(RegexGroup& g, re2::RE2::Anchor anchor, const std::string& re, uint32_t set, std::string& err) {
    re2::RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_max_mem(32 << 20);
    if (!g.set) {
      g.set = std::make_unique<re2::RE2::Set>(opts, anchor);
      g.anchored = anchor == re2::RE2::ANCHOR_START;
    }
    auto it = g.index.find(re);
    if (it == g.index.end()) {
      int i = g.set->Add(re, &err);
      if (i < 0) return false;
      g.each.push_back(std::make_unique<re2::RE2>(g.anchored ? "^(?:" + re + ")" : re, opts));
      g.bits.emplace_back(w64, 0);
      it = g.index.emplace(re, i).first;
    }
    g.bits[static_cast<size_t>(it->second)][set / 64] |= 1ULL << (set % 64);
    return true;
  }

  void finish(RegexGroup& g) {
    if (!g.set) return;
    if (!g.set->Compile()) throw std::runtime_error("cannot compile the domain regexes (RE2 out of memory)");
    for (auto& b : g.bits) g.bm.push_back(intern(b.data()));
    g.bits.clear();
    g.index.clear();
  }

  static bool weak(const std::vector<SigItem>& sig) {
    size_t selective = 0;  // single positions that admit at most a quarter of the bytes
    for (const SigItem& item : sig) {
      int bytes = 0;
      for (uint64_t w : item.set) bytes += __builtin_popcountll(w);
      selective += item.end || (!item.star && bytes <= 64);
    }
    return selective < 2;
  }

  void buildPrefilter(const std::vector<ReversedRegex>& revs) {
    constexpr size_t kMaxStates = 1 << 15;
    std::vector<std::vector<SigItem>> sigs;
    for (const auto& r : revs) {
      bool anyWeak = r.signatures.empty() ||
                     std::any_of(r.signatures.begin(), r.signatures.end(), [](const auto& sig) { return weak(sig); });
      if (!anyWeak) {
        sigs.insert(sigs.end(), r.signatures.begin(), r.signatures.end());
      } else if (r.literal.size() >= 3) {
        prefilter.literals.push_back(r.literal);
      } else {
        return;  // nothing to filter this regex by: every name goes to RE2
      }
    }
    // Bytes that no position tells apart share a class.
    std::map<std::vector<bool>, uint8_t> classOf;
    for (unsigned b = 0; b < 256; ++b) {
      std::vector<bool> key;
      for (const auto& sig : sigs)
        for (const auto& item : sig) key.push_back((item.set[b / 64] >> (b % 64)) & 1);
      auto it = classOf.emplace(std::move(key), static_cast<uint8_t>(classOf.size())).first;
      prefilter.cls[b] = it->second;
    }
    prefilter.classes = static_cast<uint32_t>(classOf.size());
    std::vector<unsigned> sample(prefilter.classes);  // one byte of each class
    for (unsigned b = 0; b < 256; ++b) sample[prefilter.cls[b]] = b;
    // Subset construction over (signature, position) pairs; a looping item may also be
    // skipped, so positions come with their closure over looping items.
    using State = std::vector<uint32_t>;  // signature << 5 | position, sorted
    bool startAccepts = false;
    auto addClosure = [&](State& st, uint32_t r, uint32_t pos, bool& accepting) {
      while (true) {
        if (pos == sigs[r].size()) {
          accepting = true;
          return;
        }
        st.push_back(r << 5 | pos);
        if (!sigs[r][pos].star) return;
        ++pos;
      }
    };
    // A state that holds an `end` item admits a name that ends there.
    auto endsHere = [&](const State& st) {
      return std::any_of(st.begin(), st.end(), [&](uint32_t pair) {
        return pair != UINT32_MAX && sigs[pair >> 5][pair & 31].end;
      });
    };
    // State 0 is dead, 1 accepting (one is enough: it means "ask RE2"), 2 the start.
    std::map<State, uint32_t> ids;
    std::vector<State> states{State{}, State{UINT32_MAX}, State{}};
    for (uint32_t r = 0; r < sigs.size(); ++r) addClosure(states[2], r, 0, startAccepts);
    if (startAccepts) return;  // weak() keeps these out; be safe
    std::sort(states[2].begin(), states[2].end());
    states[2].erase(std::unique(states[2].begin(), states[2].end()), states[2].end());
    for (uint32_t q = 0; q < 3; ++q) ids[states[q]] = q;
    prefilter.endAccept.assign(3, 0);
    prefilter.endAccept[2] = endsHere(states[2]);
    for (size_t q = 2; q < states.size(); ++q) {
      prefilter.next.resize(states.size() * prefilter.classes, 0);
      for (uint32_t c = 0; c < prefilter.classes; ++c) {
        unsigned b = sample[c];
        State to;
        bool accepting = false;
        for (uint32_t pair : states[q]) {
          uint32_t r = pair >> 5, pos = pair & 31;
          const SigItem& item = sigs[r][pos];
          if (item.end || !((item.set[b / 64] >> (b % 64)) & 1)) continue;
          addClosure(to, r, item.star ? pos : pos + 1, accepting);
        }
        std::sort(to.begin(), to.end());
        to.erase(std::unique(to.begin(), to.end()), to.end());
        if (accepting) to = State{UINT32_MAX};
        auto [it, fresh] = ids.emplace(to, static_cast<uint32_t>(states.size()));
        if (fresh) {
          if (states.size() >= kMaxStates) return;  // too big: RE2 for every name
          states.push_back(to);
          prefilter.endAccept.push_back(endsHere(to));
        }
        prefilter.next[q * prefilter.classes + c] = static_cast<uint16_t>(it->second);
      }
    }
    prefilter.next.resize(states.size() * prefilter.classes, 0);
    prefilter.use = true;
  }

  void buildRegexes(const std::vector<std::pair<std::string, uint32_t>>& regexes) {
    regexSets.assign(w64, 0);
    std::vector<std::pair<std::string, uint32_t>> forwards;
    std::vector<ReversedRegex> revs;
    for (const auto& [re, set] : regexes) {
      regexSets[set / 64] |= 1ULL << (set % 64);
      std::string err;
      if (!addRegex(all, re2::RE2::UNANCHORED, re, set, err)) throw std::runtime_error("invalid regex '" + re + "': " + err);
      auto rev = reverseRegex(re);
      if (!rev || !rev->anchoredStart || !addRegex(reversed, re2::RE2::ANCHOR_START, rev->pattern, set, err))
        forwards.push_back({re, set});
      else
        revs.push_back(std::move(*rev));
    }
    buildPrefilter(revs);
    if (!reversed.set) {  // nothing reversed: `all` serves every name
      finish(all);
      return;
    }
    for (const auto& [re, set] : forwards) {
      std::string err;
      addRegex(forward, re2::RE2::UNANCHORED, re, set, err);
    }
    finish(all);
    finish(reversed);
    finish(forward);
  }

  void matchRegexes(const RegexGroup& g, const char* s, size_t n, uint64_t* acc) const {
    if (!g.set) return;
    re2::StringPiece text(s, n);
    re2::RE2::Set::ErrorInfo info{};
    bool any = g.set->Match(text, nullptr, &info);
    if (info.kind == re2::RE2::Set::kOutOfMemory) {
      for (size_t i = 0; i < g.each.size(); ++i)
        if (re2::RE2::PartialMatch(text, *g.each[i])) orBitmap(g.bm[i], acc);
    } else if (any) {
      std::vector<int> hits;
      g.set->Match(text, &hits, &info);
      for (int i : hits) orBitmap(g.bm[static_cast<size_t>(i)], acc);
    }
  }

  // ---- matching ----
  void orBitmap(uint32_t bm, uint64_t* acc) const {
    if (bm == kNone) return;
    const uint64_t* b = &pool[bm];
    for (uint32_t w = 0; w < w64; ++w) acc[w] |= b[w];
  }

  void probeAll(uint64_t* hashes, const size_t* starts, size_t probes, const char* s, size_t n, uint64_t* acc) const {
    size_t kept = 0;
    size_t keptStarts[32];
    for (size_t k = 0; k < probes; ++k) {
      if (!mayHave(hashes[k])) continue;
      __builtin_prefetch(&slots[static_cast<size_t>((hashes[k] * kFib) >> slotShift)]);
      hashes[kept] = hashes[k];
      keptStarts[kept++] = starts[k];
    }
    for (size_t k = 0; k < kept; ++k) {
      size_t i = keptStarts[k];
      if (const uint32_t* r = find(hashes[k], s + i, n - i)) {
        orBitmap(r[0], acc);               // as a suffix
        if (i == 0) orBitmap(r[1], acc);   // as the full name
      }
    }
  }

  // `s` is lower-case; `plain` when it is ASCII and short enough to reverse.
  void matchNormalized(const char* s, size_t n, bool plain, uint64_t* acc) const {
    orBitmap(always, acc);
    // One pass from the end of the name: the suffix hashes, and the regex prefilter's
    // DFA (state 0 dead, 1 "ask RE2", 2 the start; 0 here when it does not run).
    const bool walk = reversed.set && prefilter.use && plain;
    uint32_t st = walk ? 2 : 0;
    const uint16_t* next = prefilter.next.data();
    const uint32_t classes = prefilter.classes;
    size_t rest = n;  // bytes the DFA still has to read after the hashing pass
    if (records) {
      // The hash of every suffix that starts a label; their filter words and slots are
      // fetched from memory together rather than one after another.
      constexpr size_t kMaxProbes = 32;
      uint64_t hashes[kMaxProbes];
      size_t starts[kMaxProbes];
      size_t probes = 0;
      uint64_t h = kFnvBasis;
      size_t stop = n > maxLen ? n - maxLen : 0;  // longer suffixes match no pattern
      for (size_t k = n; k > stop; --k) {
        const size_t i = k - 1;
        const auto c = static_cast<uint8_t>(s[i]);
        h = (h ^ c) * kFnvPrime;
        if (st >= 2) st = next[st * classes + prefilter.cls[c]];
        if (i != 0 && s[i - 1] != '.') continue;
        if (probes == kMaxProbes) {  // a name of very many labels: probe what we have
          probeAll(hashes, starts, probes, s, n, acc);
          probes = 0;
        }
        uint64_t bit = (h * kFilterMul) >> filterShift;
        __builtin_prefetch(&filter[bit >> 6]);
        hashes[probes] = h;
        starts[probes++] = i;
      }
      probeAll(hashes, starts, probes, s, n, acc);
      rest = stop;
    }
    if (hasKeywords) {
      uint32_t ks = 0;
      const uint32_t* d = delta.data();
      for (size_t i = 0; i < n; ++i) {
        ks = d[ks * this->classes + cls[static_cast<uint8_t>(s[i])]];
        if (out[ks] != kNone) orBitmap(out[ks], acc);
      }
    }
    if (!all.set) return;
    bool covered = true;  // every set with a regex already matched: nothing to add
    for (uint32_t w = 0; w < w64; ++w) covered &= (acc[w] & regexSets[w]) == regexSets[w];
    if (covered) return;
    if (!reversed.set || !plain) {
      matchRegexes(all, s, n, acc);
      return;
    }
    for (size_t k = rest; k > 0 && st >= 2; --k) st = next[st * classes + prefilter.cls[static_cast<uint8_t>(s[k - 1])]];
    bool candidate = !prefilter.use || st == 1 || (st >= 2 && prefilter.endAccept[st]);
    for (size_t l = 0; !candidate && l < prefilter.literals.size(); ++l)
      candidate = std::string_view(s, n).find(prefilter.literals[l]) != std::string_view::npos;
    if (candidate) {
      char rev[256];
      for (size_t i = 0; i < n; ++i) rev[n - 1 - i] = s[i];
      matchRegexes(reversed, rev, n, acc);
    }
    matchRegexes(forward, s, n, acc);
  }
};

DomainMatcher::DomainMatcher(const artifact::RuleTable& rules) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.sets = static_cast<uint32_t>(rules.domain_sets_size());
  m.w64 = std::max<uint32_t>(1, (m.sets + 63) / 64);
  std::vector<std::pair<std::string, std::pair<bool, uint32_t>>> table;  // value -> (full?, set)
  std::vector<std::pair<std::string, uint32_t>> keywords, regexes;
  std::vector<uint64_t> always(m.w64, 0);
  for (uint32_t i = 0; i < m.sets; ++i) {
    // A set's bit is its position in the table (set.index() mirrors it).
    for (const auto& p : rules.domain_sets(static_cast<int>(i)).patterns()) {
      const std::string& kind = p.kind();
      if (kind == "suffix" || kind == "full") {
        std::string v = lowerTrim(p.value(), kind == "suffix");
        if (!v.empty()) table.push_back({std::move(v), {kind == "full", i}});
      } else if (kind == "keyword") {
        // A substring: a final dot is part of it ("goo." is in goo.gl, not googleapis.com).
        std::string v = p.value();
        for (char& c : v) c = lowerAscii(c);
        if (v.empty()) always[i / 64] |= 1ULL << (i % 64);
        else keywords.push_back({std::move(v), i});
      } else if (kind == "regex") {
        regexes.push_back({p.value(), i});
      } else if (kind == "geosite" || kind == "ext") {
        throw std::runtime_error("domain(" + kind + ":" + p.value() +
                                 ") was not expanded by the compiler; compile the program where its geodata "
                                 "files are (daec -L DIR)");
      } else {
        throw std::runtime_error("unknown domain pattern kind '" + kind + "' in the rule table");
      }
    }
  }
  m.always = m.intern(always.data());
  m.buildTable(table);
  m.buildKeywords(keywords);
  m.buildRegexes(regexes);
  m.interned.clear();
  m.interned.rehash(0);

}

DomainMatcher::~DomainMatcher() = default;
DomainMatcher::DomainMatcher(DomainMatcher&&) noexcept = default;
DomainMatcher& DomainMatcher::operator=(DomainMatcher&&) noexcept = default;

size_t DomainMatcher::setCount() const { return impl_->sets; }

DomainMatcher::Stats DomainMatcher::stats() const {
  const Impl& m = *impl_;
  Stats s;
  s.names = m.records;
  s.keywordStates = m.out.size();
  s.regexes = m.all.bm.size();
  s.reversedRegexes = m.reversed.bm.size();
  s.prefilterStates = m.prefilter.use ? m.prefilter.next.size() / std::max<uint32_t>(1, m.prefilter.classes) : 0;
  s.prefilterLiterals = m.prefilter.use ? m.prefilter.literals.size() : 0;
  return s;
}

size_t DomainMatcher::memoryBytes() const {
  const Impl& m = *impl_;
  return m.pool.capacity() * 8 + m.arena.capacity() * 4 + m.slots.capacity() * 8 + m.filter.capacity() * 8 +
         m.delta.capacity() * 4 + m.out.capacity() * 4 + m.prefilter.next.capacity() * 2 +
         m.prefilter.endAccept.capacity();
}

void DomainMatcher::match(std::string_view name, uint32_t* out, uint32_t words) const {
  const Impl& m = *impl_;
  // Lower-case into a buffer on the stack (a DNS name has at most 253 characters).
  char small[256];
  std::string big;
  char* buf = small;
  if (name.size() > sizeof small) {
    big.resize(name.size());
    buf = big.data();
  }
  size_t n = name.size();
  unsigned high = 0;
  for (size_t i = 0; i < n; ++i) {
    buf[i] = lowerAscii(name[i]);
    high |= static_cast<unsigned char>(name[i]);
  }
  if (n && buf[n - 1] == '.') --n;
  const bool plain = high < 0x80 && n <= 256;

  uint64_t smallAcc[8];
  std::vector<uint64_t> bigAcc;
  uint64_t* acc = smallAcc;
  if (m.w64 > 8) {
    bigAcc.assign(m.w64, 0);
    acc = bigAcc.data();
  } else {
    std::memset(smallAcc, 0, sizeof smallAcc);
  }
  m.matchNormalized(buf, n, plain, acc);
  for (uint32_t w = 0; w < words; ++w) out[w] = w / 2 < m.w64 ? static_cast<uint32_t>(acc[w / 2] >> (32 * (w % 2))) : 0;
}

std::vector<uint32_t> DomainMatcher::bitmap(const std::string& name, uint32_t words) const {
  std::vector<uint32_t> out(words, 0);
  match(name, out.data(), words);
  return out;
}

}  // namespace dae::dns
