// kbsim_counters.cpp: memory counters from the access hooks (definitions: kbsim_counters.h).
// Each CUDA thread's accesses are kept per site in order while its block runs; when the block is
// over, the lanes of each warp are grouped per site by occurrence into requests.  Never compiled
// with the hooks' instrumentation.
#include "kbsim_counters.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include "kbsim_internal.h"  // kbsim.h without the CUDA built-in names

namespace kbsim {
namespace {

enum Kind : unsigned char {
  kGlobalLoad, kGlobalStore, kSharedLoad, kSharedStore, kAtomic, kLdmatrix, kCpAsync, kBarrier, kShuffle, kVote,
  kSyncwarp, kKinds
};
const char* kind_name(int k) {
  static const char* n[] = {"global_load", "global_store", "shared_load", "shared_store", "atomic", "ldmatrix",
                            "cp_async", "barrier", "shuffle", "vote", "syncwarp"};
  return n[k];
}

struct SiteInfo {
  const void* key;
  Kind kind;
  unsigned bytes;
  const char* file;  // events: file/line; accesses: described from the code address at the end
  int line;
};

// Totals of one block (or of the launch): per site requests / sectors / wavefronts / ideal / lanes.
struct Tot {
  std::vector<double> v;  // 5 per site
  void add(std::size_t site, int what, double x) {
    if (v.size() < (site + 1) * 5) v.resize((site + 1) * 5, 0.0);
    v[site * 5 + what] += x;
  }
};

struct State {
  bool on = false, sample = false;
  // the launch
  bool in_launch = false;
  std::string kernel;
  dim3 grid, block;
  long long blocks_total = 0, blocks_run = 0;
  std::vector<SiteInfo> sites;
  std::unordered_map<const void*, std::size_t> site_of;
  const void* cache_key[256];      // a direct-mapped cache in front of site_of (the hot path)
  std::size_t cache_idx[256];
  std::map<unsigned long long, double> weight;       // block linear id -> weight
  std::map<unsigned long long, unsigned long long> twin;  // check block -> the block it must equal
  std::map<unsigned long long, std::vector<double>> block_tot;
  Tot launch_tot;
  double atomic_max_same = 0;
  std::unordered_map<std::uint64_t, std::uint64_t> touched_read, touched_written;  // 64-byte line -> byte mask
  // the block being run
  bool have_block = false;
  uint3 cur_block;
  unsigned nthreads = 0;
  // per thread, per site: addresses (low 48 bits) in order (events: addr, or 0)
  std::vector<std::vector<std::vector<std::uint64_t>>> streams;
  std::vector<LaunchCounters> done;
};
State* g = nullptr;

unsigned long long block_linear(uint3 b, dim3 grid) {
  return ((unsigned long long)b.z * grid.y + b.y) * grid.x + b.x;
}

std::size_t site_index(const void* key, Kind kind, unsigned bytes, const char* file, int line) {
  const auto k = reinterpret_cast<std::uintptr_t>(key);
  const unsigned h = (unsigned)((k >> 2) ^ (k >> 10) ^ (k >> 56)) & 255u;
  if (g->cache_key[h] == key) return g->cache_idx[h];
  std::size_t idx;
  auto it = g->site_of.find(key);
  if (it != g->site_of.end()) {
    idx = it->second;
  } else {
    g->sites.push_back(SiteInfo{key, kind, bytes, file, line});
    idx = g->sites.size() - 1;
    g->site_of.emplace(key, idx);
  }
  g->cache_key[h] = key;
  g->cache_idx[h] = idx;
  return idx;
}

void flush_block();

void record(std::size_t site, std::uint64_t addr) {
  const ThreadCtx* c = g_ctx;
  if (!g->have_block || c->block_idx.x != g->cur_block.x || c->block_idx.y != g->cur_block.y ||
      c->block_idx.z != g->cur_block.z) {
    if (g->have_block) flush_block();
    g->have_block = true;
    g->cur_block = c->block_idx;
    g->nthreads = c->block_dim.x * c->block_dim.y * c->block_dim.z;
    g->streams.assign(g->nthreads, {});
  }
  const unsigned t = (c->thread_idx.z * c->block_dim.y + c->thread_idx.y) * c->block_dim.x + c->thread_idx.x;
  auto& per = g->streams[t];
  if (per.size() <= site) per.resize(site + 1);
  per[site].push_back(addr);
}

void mark_touched(std::unordered_map<std::uint64_t, std::uint64_t>& m, std::uint64_t a, unsigned bytes) {
  for (unsigned i = 0; i < bytes; ++i) m[(a + i) >> 6] |= 1ull << ((a + i) & 63);
}

void on_access(const Access& a, void*) {
  if (!g || !g->on || a.space == Space::Local) return;
  const bool global = a.space == Space::Global;
  const Kind k = global ? (a.store ? kGlobalStore : kGlobalLoad) : (a.store ? kSharedStore : kSharedLoad);
  // one site per code address and kind (a generic pointer may be shared for some threads)
  const void* key = reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(a.site) ^ ((std::uintptr_t)k << 56));
  const std::size_t s = site_index(key, k, a.bytes, nullptr, 0);
  g->sites[s].key = a.site;
  record(s, reinterpret_cast<std::uint64_t>(a.addr));
}

void on_event(const EventInfo& e, void*) {
  if (!g || !g->on) return;
  Kind k;
  switch (e.kind) {
    case Event::Barrier: k = kBarrier; break;
    case Event::Shuffle: k = kShuffle; break;
    case Event::Vote: k = kVote; break;
    case Event::Syncwarp: k = kSyncwarp; break;
    case Event::Atomic: k = kAtomic; break;
    case Event::CpAsync: k = kCpAsync; break;
    case Event::Ldmatrix: k = kLdmatrix; break;
    default: return;
  }
  const std::size_t s = site_index(e.site, k, e.bytes, e.file, e.line);
  // cp.async: the global source is what the counters look at
  const void* addr = k == kCpAsync ? e.src : e.addr;
  // ldmatrix: lanes whose row address is not used still execute the instruction (address 0)
  record(s, reinterpret_cast<std::uint64_t>(addr));
  if (k == kCpAsync && e.bytes) g->sites[s].bytes = std::max(g->sites[s].bytes, e.bytes);
}

// Shared-memory wavefronts of one warp request: lanes' addresses, `bytes` per lane.
void wavefronts(const std::vector<std::uint64_t>& addrs, unsigned bytes, double& wf, double& ideal) {
  const unsigned per_phase = bytes <= 4 ? 32 : bytes == 8 ? 16 : 8;
  const unsigned words = (bytes + 3) / 4;
  for (unsigned p0 = 0; p0 < 32; p0 += per_phase) {
    std::uint64_t wordsv[32 * 4];
    unsigned n = 0;
    for (unsigned l = p0; l < p0 + per_phase && l < addrs.size(); ++l) {
      if (addrs[l] == ~0ull) continue;  // lane inactive
      for (unsigned w = 0; w < words; ++w) wordsv[n++] = (addrs[l] >> 2) + w;
    }
    if (!n) continue;
    std::sort(wordsv, wordsv + n);
    n = (unsigned)(std::unique(wordsv, wordsv + n) - wordsv);
    unsigned per_bank[32] = {0};
    unsigned most = 0;
    for (unsigned i = 0; i < n; ++i) most = std::max(most, ++per_bank[wordsv[i] & 31]);
    wf += most;
    ideal += 1;
  }
}

void flush_block() {
  if (!g->have_block) return;
  g->have_block = false;
  const unsigned long long id = block_linear(g->cur_block, g->grid);
  const auto wit = g->weight.find(id);
  const double weight = g->sample ? (wit == g->weight.end() ? 0.0 : wit->second) : 1.0;
  Tot tot;
  const unsigned warps = (g->nthreads + 31) / 32;
  std::vector<std::uint64_t> addrs(32);
  for (std::size_t s = 0; s < g->sites.size(); ++s) {
    const SiteInfo& si = g->sites[s];
    for (unsigned w = 0; w < warps; ++w) {
      std::size_t most = 0;
      for (unsigned l = 0; l < 32 && w * 32 + l < g->nthreads; ++l) {
        const auto& per = g->streams[w * 32 + l];
        if (per.size() > s) most = std::max(most, per[s].size());
      }
      for (std::size_t k = 0; k < most; ++k) {
        unsigned lanes = 0;
        for (unsigned l = 0; l < 32; ++l) {
          addrs[l] = ~0ull;
          if (w * 32 + l >= g->nthreads) continue;
          const auto& per = g->streams[w * 32 + l];
          if (per.size() > s && per[s].size() > k) { addrs[l] = per[s][k]; ++lanes; }
        }
        tot.add(s, 0, 1);
        tot.add(s, 4, lanes);
        if (si.kind == kGlobalLoad || si.kind == kGlobalStore || si.kind == kCpAsync || si.kind == kAtomic) {
          std::uint64_t sec[64];
          unsigned n = 0;
          std::map<std::uint64_t, unsigned> per_addr;
          for (unsigned l = 0; l < 32; ++l) {
            if (addrs[l] == ~0ull || (si.kind == kCpAsync && !si.bytes)) continue;
            const unsigned b = si.bytes ? si.bytes : 1;
            for (std::uint64_t x = addrs[l] >> 5; x <= (addrs[l] + b - 1) >> 5 && n < 64; ++x) sec[n++] = x;
            if (si.kind == kAtomic) ++per_addr[addrs[l]];
            if (g->sample) continue;
            if (si.kind == kGlobalStore) mark_touched(g->touched_written, addrs[l], b);
            else if (si.kind == kAtomic) { mark_touched(g->touched_read, addrs[l], b); mark_touched(g->touched_written, addrs[l], b); }
            else mark_touched(g->touched_read, addrs[l], b);
          }
          std::sort(sec, sec + n);
          tot.add(s, 1, (double)(std::unique(sec, sec + n) - sec));
          for (auto& kv : per_addr) g->atomic_max_same = std::max(g->atomic_max_same, (double)kv.second);
        } else if (si.kind == kSharedLoad || si.kind == kSharedStore || si.kind == kLdmatrix) {
          double wf = 0, ideal = 0;
          if (si.kind == kLdmatrix)
            for (auto& x : addrs) if (x == 0) x = ~0ull;
          wavefronts(addrs, si.kind == kLdmatrix ? 16 : si.bytes, wf, ideal);
          tot.add(s, 2, wf);
          tot.add(s, 3, ideal);
        }
      }
    }
  }
  g->streams.clear();
  ++g->blocks_run;
  tot.v.resize(g->sites.size() * 5, 0.0);
  if (g->sample) g->block_tot[id] = tot.v;
  for (std::size_t i = 0; i < tot.v.size(); ++i) g->launch_tot.add(i / 5, (int)(i % 5), tot.v[i] * weight);
}

double bytes_of(const std::unordered_map<std::uint64_t, std::uint64_t>& m) {
  double n = 0;
  for (auto& kv : m) n += __builtin_popcountll(kv.second);
  return n;
}

void finish_launch() {
  if (!g->in_launch) return;
  flush_block();
  g->in_launch = false;
  LaunchCounters lc;
  lc.kernel = g->kernel;
  lc.grid[0] = g->grid.x; lc.grid[1] = g->grid.y; lc.grid[2] = g->grid.z;
  lc.block[0] = g->block.x; lc.block[1] = g->block.y; lc.block[2] = g->block.z;
  lc.blocks_total = g->blocks_total;
  lc.blocks_run = g->blocks_run;
  lc.sampled = g->sample && g->blocks_run < g->blocks_total;
  for (auto& kv : g->twin) {
    auto a = g->block_tot.find(kv.first), b = g->block_tot.find(kv.second);
    if (a == g->block_tot.end() || b == g->block_tot.end()) continue;
    auto va = a->second, vb = b->second;
    va.resize(g->sites.size() * 5, 0.0);
    vb.resize(g->sites.size() * 5, 0.0);
    if (va != vb) {
      lc.exact = false;
      lc.note = "sampled blocks of one class differ (block " + std::to_string(kv.first) + " vs " +
                std::to_string(kv.second) + "): the scaled counts are estimates";
    }
  }
  std::map<std::string, double>& v = lc.values;
  for (const char* k : {"global_load_requests", "global_load_sectors", "global_store_requests", "global_store_sectors",
                        "shared_load_requests", "shared_load_wavefronts", "shared_store_requests",
                        "shared_store_wavefronts", "shared_ideal_wavefronts", "ldmatrix", "ldmatrix_wavefronts",
                        "cp_async_requests", "cp_async_sectors", "cp_async_bytes", "atomics", "atomic_lane_ops",
                        "barriers", "shuffles", "votes", "syncwarps"})
    v[k] = 0;
  auto& t = g->launch_tot.v;
  t.resize(g->sites.size() * 5, 0.0);
  for (std::size_t s = 0; s < g->sites.size(); ++s) {
    const SiteInfo& si = g->sites[s];
    const double req = t[s * 5], sec = t[s * 5 + 1], wf = t[s * 5 + 2], ideal = t[s * 5 + 3], lanes = t[s * 5 + 4];
    if (req == 0) continue;
    switch (si.kind) {
      case kGlobalLoad: v["global_load_requests"] += req; v["global_load_sectors"] += sec; break;
      case kGlobalStore: v["global_store_requests"] += req; v["global_store_sectors"] += sec; break;
      case kSharedLoad: v["shared_load_requests"] += req; v["shared_load_wavefronts"] += wf; v["shared_ideal_wavefronts"] += ideal; break;
      case kSharedStore: v["shared_store_requests"] += req; v["shared_store_wavefronts"] += wf; v["shared_ideal_wavefronts"] += ideal; break;
      case kLdmatrix: v["ldmatrix"] += req; v["ldmatrix_wavefronts"] += wf; break;
      case kCpAsync: v["cp_async_requests"] += req; v["cp_async_sectors"] += sec; v["cp_async_bytes"] += lanes * si.bytes; break;
      case kAtomic: v["atomics"] += req; v["atomic_lane_ops"] += lanes; break;
      case kBarrier: v["barriers"] += req; break;
      case kShuffle: v["shuffles"] += req; break;
      case kVote: v["votes"] += req; break;
      case kSyncwarp: v["syncwarps"] += req; break;
      default: break;
    }
    SiteCounters sc;
    sc.site = si.file ? std::string(si.file) + ":" + std::to_string(si.line) : describe_site(si.key);
    sc.kind = kind_name(si.kind);
    sc.bytes = si.bytes;
    sc.requests = req; sc.sectors = sec; sc.wavefronts = wf; sc.ideal_wavefronts = ideal; sc.lanes = lanes;
    lc.sites.push_back(sc);
  }
  v["atomic_max_same_address"] = g->atomic_max_same;
  const bool full = !lc.sampled;
  v["unique_bytes_read"] = full ? bytes_of(g->touched_read) : -1;
  v["unique_bytes_written"] = full ? bytes_of(g->touched_written) : -1;
  v["blocks"] = (double)g->blocks_total;
  v["threads_per_block"] = (double)g->block.x * g->block.y * g->block.z;
  v["warps"] = g->blocks_total * std::ceil(v["threads_per_block"] / 32.0);
  g->done.push_back(std::move(lc));
}

void on_launch(const char* kernel, dim3 grid, dim3 block, void*) {
  if (!g || !g->on) return;
  finish_launch();
  g->in_launch = true;
  g->kernel = kernel;
  g->grid = grid;
  g->block = block;
  g->blocks_total = (long long)grid.x * grid.y * grid.z;
  g->blocks_run = 0;
  g->sites.clear();
  g->site_of.clear();
  std::fill(std::begin(g->cache_key), std::end(g->cache_key), nullptr);
  g->weight.clear();
  g->twin.clear();
  g->block_tot.clear();
  g->launch_tot = Tot{};
  g->atomic_max_same = 0;
  g->touched_read.clear();
  g->touched_written.clear();
  g->have_block = false;
}

// Per dimension of n blocks: (index, weight, twin) -- first, one interior (weight n-2), a second
// interior as a check (weight 0, must equal the first), last.
struct Rep {
  unsigned idx;
  double w;
  int twin;  // -1, or the index whose counts it must equal
};
std::vector<Rep> reps(unsigned n) {
  std::vector<Rep> r{{0, 1, -1}};
  if (n > 2) r.push_back({1, (double)(n - 2), -1});
  if (n > 3) r.push_back({n - 2, 0, 1});
  if (n > 1) r.push_back({n - 1, 1, -1});
  return r;
}

void select(dim3 grid, std::vector<uint3>& ids, void*) {
  if (!g || !g->on || !g->sample) return;
  ids.clear();
  for (const Rep& z : reps(grid.z))
    for (const Rep& y : reps(grid.y))
      for (const Rep& x : reps(grid.x)) {
        const uint3 b = make_uint3(x.idx, y.idx, z.idx);
        const unsigned long long id = block_linear(b, grid);
        ids.push_back(b);
        g->weight[id] = x.w * y.w * z.w;
        const int checks = (x.twin >= 0) + (y.twin >= 0) + (z.twin >= 0);
        if (checks == 1) {
          const uint3 t = make_uint3(x.twin >= 0 ? x.twin : x.idx, y.twin >= 0 ? y.twin : y.idx, z.twin >= 0 ? z.twin : z.idx);
          g->twin[id] = block_linear(t, grid);
        }
      }
}
int g_acc_id = -1, g_ev_id = -1;
}  // namespace

void counters_start(bool sample) {
  if (!g) g = new State;
  *g = State{};
  g->on = true;
  g->sample = sample;
  if (g_acc_id < 0) g_acc_id = add_access_observer(on_access, nullptr);
  if (g_ev_id < 0) g_ev_id = add_event_observer(on_event, nullptr);
  set_launch_observer(on_launch, nullptr);
  set_block_selector(select, nullptr);
}

std::vector<LaunchCounters> counters_stop() {
  if (!g) return {};
  finish_launch();
  g->on = false;
  set_launch_observer(nullptr, nullptr);
  set_block_selector(nullptr, nullptr);
  if (g_acc_id >= 0) remove_access_observer(g_acc_id);
  if (g_ev_id >= 0) remove_event_observer(g_ev_id);
  g_acc_id = g_ev_id = -1;
  std::vector<LaunchCounters> out = std::move(g->done);
  g->done.clear();
  return out;
}
}  // namespace kbsim
