// What a table line names besides its facts: the rung's launcher and, for a one-launch rung, its
// config, declared right where the line uses them.  So a rung needs no declaration in any header:
// its file defines `void <f>(const Args&, void*)` (and `LaunchConfig <f>_config(const Args&)`),
// its table line says KB_RUNG_FNS(<f>) (launcher, config) or KB_RUNG_FN(<f>) (launcher, nullptr);
// a reduction rung's file also defines `std::size_t <f>_workspace(const ReduceArgs&)` when its
// line says KB_REDUCE_FNS.  CPU and CUDA lines alike.
#pragma once
#include "kb_tables.h"

#ifdef KB_FACTS_ONLY   // the facts-only table dump links no kernels: stubs, never called
#define KB_LAUNCHER_FN(Args, f) [](const Args&, void*) { throw 0; }
#define KB_CONFIG_FN(Args, f) [](const Args&) -> ::kb::LaunchConfig { throw 0; }
#define KB_WORKSPACE_FN(f) [](const ::kb::ReduceArgs&) -> std::size_t { throw 0; }
#else                  // a block-scope declaration names kb::<f>, defined in the rung's file
#define KB_LAUNCHER_FN(Args, f) [](const Args& p, void* s) { void f(const Args&, void*); f(p, s); }
#define KB_CONFIG_FN(Args, f) \
  [](const Args& p) { ::kb::LaunchConfig f##_config(const Args&); return f##_config(p); }
#define KB_WORKSPACE_FN(f) \
  [](const ::kb::ReduceArgs& p) { std::size_t f##_workspace(const ::kb::ReduceArgs&); return f##_workspace(p); }
#endif

// Matmul lines: {name, dtypes, traits, min_arch, rank, KB_RUNG_FNS(matmul_NN_x)}.
#define KB_RUNG_FNS(f) KB_LAUNCHER_FN(MatmulArgs, f), KB_CONFIG_FN(MatmulArgs, f)
#define KB_RUNG_FN(f) KB_LAUNCHER_FN(MatmulArgs, f), nullptr

// Reduction lines: {name, dtypes, ops, traits, min_arch, rank, KB_REDUCE_FNS(reduce_NN_x)[, summation]}
// (launcher, workspace, no config), KB_REDUCE_FNS_CONFIG (launcher, workspace, config) or
// KB_REDUCE_FN (launcher only: no workspace, no config).
#define KB_REDUCE_FNS(f) KB_LAUNCHER_FN(ReduceArgs, f), KB_WORKSPACE_FN(f), nullptr
#define KB_REDUCE_FNS_CONFIG(f) KB_LAUNCHER_FN(ReduceArgs, f), KB_WORKSPACE_FN(f), KB_CONFIG_FN(ReduceArgs, f)
#define KB_REDUCE_FN(f) KB_LAUNCHER_FN(ReduceArgs, f), nullptr, nullptr
// Row-wise lines (softmax, L2 norm): {name, dtypes, traits, min_arch, rank, KB_ROWWISE_FN(f)}.
#define KB_ROWWISE_FN(f) KB_LAUNCHER_FN(RowwiseArgs, f)
