// kbsim_collectives.cpp: the warp collectives -- __syncwarp, the shuffles (exactly as the PTX ISA
// defines shfl.sync: width, clamping, a lane's own value for out-of-range sources), the votes, and
// the register exchange of tensor-core instructions (warp_allgather: ldmatrix, mma.sync, wmma).  A
// lane arrives (warp_op) and its fiber waits; the scheduler completes the collective once every lane
// of its mask has arrived (complete_collectives).  Lanes that disagree on the mask, the instruction
// or the operand are diagnosed here.
#include "kbsim_internal.h"

#include <algorithm>
#include <cstring>

namespace kbsim {
namespace internal {
const char* coll_name(CollKind kind, int sub) {
  switch (kind) {
    case CollKind::Syncwarp: return "__syncwarp";
    case CollKind::Shfl:
      switch (static_cast<ShflMode>(sub)) {
        case ShflMode::Idx: return "__shfl_sync";
        case ShflMode::Up: return "__shfl_up_sync";
        case ShflMode::Down: return "__shfl_down_sync";
        case ShflMode::Bfly: return "__shfl_xor_sync";
      }
      break;
    case CollKind::Vote:
      switch (static_cast<VoteMode>(sub)) {
        case VoteMode::Ballot: return "__ballot_sync";
        case VoteMode::Any: return "__any_sync";
        case VoteMode::All: return "__all_sync";
      }
      break;
    case CollKind::Gather: break;
  }
  return "warp-collective";
}

namespace {
// Every lane of the mask has arrived: compute each lane's result, and let them run again.
void complete_coll(Block* b, Coll* c, unsigned warp) {
  std::vector<SimThread*> lanes(32, nullptr);
  const unsigned base = warp * 32;
  for (unsigned l = 0; l < 32; ++l)
    if (base + l < b->threads.size()) lanes[l] = &b->threads[base + l];
  if (c->kind == CollKind::Shfl) {
    const ShflMode mode = static_cast<ShflMode>(c->sub);
    const int w = c->width;
    const unsigned segmask = (unsigned)(32 - w) & 31u;
    const unsigned cval = mode == ShflMode::Up ? 0u : 31u;
    for (unsigned l = 0; l < 32; ++l) {
      if (!(c->mask >> l & 1u)) continue;
      SimThread* t = lanes[l];
      const int bval = c->arg[l] & 31;  // the lane's own operand: only its low 5 bits count
      const int max_lane = (int)((l & segmask) | (cval & ~segmask)), min_lane = (int)(l & segmask);
      int j = 0;
      bool pval = true;
      switch (mode) {
        case ShflMode::Up: j = (int)l - bval; pval = j >= max_lane; break;
        case ShflMode::Down: j = (int)l + bval; pval = j <= max_lane; break;
        case ShflMode::Bfly: j = (int)l ^ bval; pval = j <= max_lane; break;
        case ShflMode::Idx: j = min_lane | (bval & (int)~segmask & 31); pval = j <= max_lane; break;
      }
      if (!pval) j = (int)l;
      if (!(c->mask >> j & 1u)) {
        fail_now(t, site(coll_name(c->kind, c->sub), c->file, c->line) + ": lane " + std::to_string(l) +
                        " reads lane " + std::to_string(j) + ", which is not in the mask (undefined on a GPU)");
        return;
      }
      raw_copy(t->out, c->in[j], c->bytes);
    }
  } else if (c->kind == CollKind::Vote) {
    const VoteMode mode = static_cast<VoteMode>(c->sub);
    unsigned ballot = 0;
    for (unsigned l = 0; l < 32; ++l)
      if ((c->mask >> l & 1u) && c->pred[l]) ballot |= 1u << l;
    const unsigned r = mode == VoteMode::Ballot ? ballot : mode == VoteMode::Any ? (ballot != 0) : (ballot == c->mask);
    for (unsigned l = 0; l < 32; ++l)
      if (c->mask >> l & 1u) raw_copy(lanes[l]->out, &r, sizeof r);
  } else if (c->kind == CollKind::Gather) {
    for (unsigned l = 0; l < 32; ++l) {
      if (!(c->mask >> l & 1u)) continue;
      for (unsigned s = 0; s < 32; ++s)
        raw_copy(static_cast<unsigned char*>(c->gout[l]) + s * c->bytes, c->gin[s], c->bytes);
    }
  }
  for (unsigned l = 0; l < 32; ++l)
    if ((c->mask >> l & 1u) && lanes[l] && lanes[l]->state == St::Warp) {
      lanes[l]->state = St::Runnable;
      lanes[l]->coll = nullptr;
    }
  auto& pend = b->pending[warp];
  pend.erase(std::remove(pend.begin(), pend.end(), c), pend.end());
  b->free_colls.push_back(c);
}

unsigned exited_lanes(Block* b, unsigned warp) {
  unsigned m = 0;
  for (unsigned l = 0; l < 32; ++l) {
    const unsigned id = warp * 32 + l;
    if (id >= b->threads.size() || b->threads[id].state == St::Done) m |= 1u << l;
  }
  return m;
}

// Arrive at a warp collective and wait for it to complete.
void warp_op(CollKind kind, int sub, unsigned mask, const char* file, int line,
             const std::function<void(Coll*, unsigned)>& fill) {
  Block* b = g_block;
  SimThread* t = me();
  const unsigned lane = t->lane;
  if (!(mask >> lane & 1u)) {
    fail_now(t, site(coll_name(kind, sub), file, line) + ": the calling lane " + std::to_string(lane) +
                    " is not in the mask 0x" + [&] { std::ostringstream o; o << std::hex << mask; return o.str(); }());
    return;
  }
  Coll* c = nullptr;
  for (Coll* p : b->pending[t->warp]) {
    if (p->mask == mask && !(p->arrived >> lane & 1u)) { c = p; break; }
    if ((p->mask & mask) && p->mask != mask && (p->mask >> lane & 1u)) {
      std::ostringstream o;
      o << site(coll_name(kind, sub), file, line) << ": lane " << lane << " uses mask 0x" << std::hex << mask
        << " while lanes 0x" << p->arrived << " wait at " << std::dec << site(coll_name(p->kind, p->sub), p->file, p->line)
        << " with mask 0x" << std::hex << p->mask << " (every lane named in a mask must use the same mask)";
      fail_now(t, o.str());
      return;
    }
  }
  if (!c) {
    if (b->free_colls.empty()) {
      fail_now(t, site(coll_name(kind, sub), file, line) + ": more than 33 warp collectives pending in one warp");
      return;
    }
    c = b->free_colls.back();
    b->free_colls.pop_back();
    c->arrived = 0; c->bytes = 0; c->width = 32; c->what = nullptr;
    c->kind = kind; c->sub = sub; c->mask = mask; c->file = file; c->line = line;
    b->pending[t->warp].push_back(c);
  } else if (c->kind != kind || c->sub != sub || (kind == CollKind::Shfl && c->bytes == 0)) {
    std::ostringstream o;
    o << "warp divergence in " << site(coll_name(kind, sub), file, line) << ": lane " << lane << " is here while lanes "
      << "of mask 0x" << std::hex << mask << std::dec << " wait at " << site(coll_name(c->kind, c->sub), c->file, c->line);
    fail_now(t, o.str());
    return;
  }
  if (kind != CollKind::Gather)
    notify_event_at(kind == CollKind::Shfl ? Event::Shuffle : kind == CollKind::Vote ? Event::Vote : Event::Syncwarp,
                    file, line, nullptr, nullptr, 0);
  c->arrived |= 1u << lane;
  fill(c, lane);
  t->coll = c;
  park(t, St::Warp, file, line, &c->sync);
}
}  // namespace

bool complete_collectives(Block* b) {
  bool progressed = false;
  for (unsigned w = 0; w < b->pending.size(); ++w) {
    const unsigned gone = exited_lanes(b, w);
    for (std::size_t i = 0; i < b->pending[w].size();) {
      Coll* c = b->pending[w][i];
      // __syncwarp completes without the lanes that have exited; a data exchange needs them all.
      const unsigned need = c->kind == CollKind::Syncwarp ? (c->mask & ~gone) : c->mask;
      if ((c->arrived & need) == need && (c->kind == CollKind::Syncwarp || !(c->mask & gone))) {
        complete_coll(b, c, w);
        if (b->failed) return true;
        progressed = true;
      } else {
        ++i;
      }
    }
  }
  return progressed;
}
}  // namespace internal

// ---------------------------------------------------------------- the built-ins (kbsim.h)
using namespace internal;

void syncwarp(unsigned mask, const char* file, int line) {
  warp_op(CollKind::Syncwarp, 0, mask, file, line, [](Coll*, unsigned) {});
}

void shfl(ShflMode mode, unsigned mask, const void* in, void* out, unsigned bytes, int lane_arg, int width,
          const char* file, int line) {
  SimThread* t = me();
  const int sub = static_cast<int>(mode);
  if (width <= 0 || width > 32 || (width & (width - 1))) {
    fail_now(t, site(coll_name(CollKind::Shfl, sub), file, line) + ": width " + std::to_string(width) +
                    " is not a power of two in [1, 32]");
    return;
  }
  warp_op(CollKind::Shfl, sub, mask, file, line, [&](Coll* c, unsigned lane) {
    if (c->bytes && (c->bytes != bytes || c->width != width)) {
      fail_now(t, site(coll_name(CollKind::Shfl, sub), file, line) + ": lanes disagree on the width or the operand size");
      return;
    }
    c->bytes = bytes;
    c->width = width;
    raw_copy(c->in[lane], in, bytes);
    c->arg[lane] = lane_arg;
  });
  raw_copy(out, t->out, bytes);
}

unsigned vote(VoteMode mode, unsigned mask, int pred, const char* file, int line) {
  SimThread* t = me();
  warp_op(CollKind::Vote, static_cast<int>(mode), mask, file, line, [&](Coll* c, unsigned lane) { c->pred[lane] = pred; });
  unsigned r;
  raw_copy(&r, t->out, sizeof r);
  return r;
}

void warp_allgather(const void* mine, void* all, std::size_t bytes, const char* what) {
  SimThread* t = me();
  Block* b = g_block;
  unsigned mask = 0;
  for (unsigned l = 0; l < 32; ++l)
    if (t->warp * 32 + l < b->threads.size()) mask |= 1u << l;
  const char* file = t->cfile ? t->cfile : what;
  const int line = t->cfile ? t->cline : 0;
  t->cfile = nullptr;
  warp_op(CollKind::Gather, 0, mask, file, line, [&](Coll* c, unsigned lane) {
    if (c->what && (std::strcmp(c->what, what) != 0 || c->bytes != bytes)) {
      std::ostringstream o;
      o << "warp divergence in a tensor-core collective: lane " << lane << " issues " << site(what, file, line)
        << " while lanes 0x" << std::hex << (c->arrived & ~(1u << lane)) << std::dec << " issued "
        << site(c->what, c->file, c->line) << " (every lane of an ldmatrix / mma / wmma must execute the same "
        << "instruction)";
      fail_now(t, o.str());
    }
    if (c->what && (c->line != line || std::strcmp(c->file, file) != 0)) {
      std::ostringstream o;
      o << "warp divergence in a tensor-core collective: lane " << lane << " issues " << site(what, file, line)
        << " while lanes 0x" << std::hex << (c->arrived & ~(1u << lane)) << std::dec << " issued it at "
        << site(c->what, c->file, c->line) << " (every lane must execute the same instruction)";
      fail_now(t, o.str());
    }
    c->what = what;
    c->bytes = (unsigned)bytes;
    c->gin[lane] = mine;
    c->gout[lane] = all;
  });
}

unsigned lane_id() { return me()->lane; }
void collective_site(const char* file, int line) {
  SimThread* t = me();
  t->cfile = file;
  t->cline = line;
}
}  // namespace kbsim
