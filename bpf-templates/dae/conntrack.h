/* Connection tracking: only a flow's first packet is routed; the decision is
 * cached in dae_conntrack and reused for every later packet.
 *
 * What counts as "first":
 *   - UDP: any packet of a tuple with no entry.
 *   - TCP: a SYN without ACK, always. A SYN re-routes even when an entry
 *     exists, because the tuple may be reused by a new connection after the
 *     old one closed (and after a reload the entry may come from other rules).
 *     A TCP packet that is not a SYN and has no entry belongs to a connection
 *     that started before us (or is the reply direction of one that did not
 *     pass this hook): it is passed untouched, since diverting the middle of a
 *     stream to the proxy could only break it.
 */
#ifndef DAE_CONNTRACK_H
#define DAE_CONNTRACK_H

#include "dae/common.h"
#include "dae/maps.h"
#include "dae/parse.h"

static __always_inline void dae_ct_make_key(struct dae_ct_key *key, const struct dae_pkt *pkt,
                                            __u32 hook) {
  /* Zero first: the key is hashed bytewise, padding included. */
  dae_memset(key, 0, sizeof(*key));
  dae_memcpy(&key->tuple, &pkt->tuple, sizeof(key->tuple));
  key->hook = hook;
}

static __always_inline int dae_ct_is_tcp_syn(const struct dae_pkt *pkt) {
  return pkt->tuple.l4proto == IPPROTO_TCP &&
         (pkt->tcp_flags & (DAE_TCP_FLAG_SYN | DAE_TCP_FLAG_ACK)) == DAE_TCP_FLAG_SYN;
}

/* Outcome of dae_ct_lookup(). */
enum {
  DAE_CT_NEW = 0,       /* route it */
  DAE_CT_KNOWN = 1,     /* *entry holds the cached decision */
  DAE_CT_UNTRACKED = 2, /* mid-stream TCP without state: pass */
};

static __always_inline int dae_ct_lookup(const struct dae_ct_key *key, const struct dae_pkt *pkt,
                                         struct dae_ct_entry *entry) {
  if (dae_ct_is_tcp_syn(pkt)) return DAE_CT_NEW;
  const struct dae_ct_entry *e = bpf_map_lookup_elem(&dae_conntrack, key);
  if (e) {
    /* Copied out: an LRU entry can be recycled under us by another CPU. */
    dae_memcpy(entry, e, sizeof(*entry));
    return DAE_CT_KNOWN;
  }
  return pkt->tuple.l4proto == IPPROTO_TCP ? DAE_CT_UNTRACKED : DAE_CT_NEW;
}

static __always_inline void dae_ct_store(const struct dae_ct_key *key,
                                         const struct dae_ct_entry *entry) {
  /* Failure (e.g. -ENOMEM) only costs re-routing the next packet. */
  bpf_map_update_elem(&dae_conntrack, key, entry, BPF_ANY);
}

#endif /* DAE_CONNTRACK_H */
