// cuda_best: the dispatcher: whole-tensor reductions -> 11_single_pass, innermost dim -> 12_dim_inner,
// any other dim -> 13_dim_outer.  Adds: one name that is fast for every layout, op and dtype.
// Limits: inherits those of 11/12/13 (few very long rows go to 12's block-per-row path).
// Preconditions: the workspace of the rung it picks (reduce_best_workspace asks for exactly that).
#include "../../common/kb_cuda.cuh"
#include "reduce_launchers.h"

namespace kb {
namespace {
enum class Pick { Single, Inner, Outer };
Pick pick(const ReduceArgs& p) {
  if (p.outer == 1 && p.inner == 1) return Pick::Single;
  return p.inner == 1 ? Pick::Inner : Pick::Outer;
}
}  // namespace

std::size_t reduce_best_workspace(const ReduceArgs& p) {
  switch (pick(p)) {
    case Pick::Single: return reduce_11_single_pass_workspace(p);
    case Pick::Inner: return reduce_12_dim_inner_workspace(p);
    case Pick::Outer: return reduce_13_dim_outer_workspace(p);
  }
  return 0;
}

void reduce_best(const ReduceArgs& p, void* stream) {
  switch (pick(p)) {
    case Pick::Single: reduce_11_single_pass(p, stream); return;
    case Pick::Inner: reduce_12_dim_inner(p, stream); return;
    case Pick::Outer: reduce_13_dim_outer(p, stream); return;
  }
}
}  // namespace kb
