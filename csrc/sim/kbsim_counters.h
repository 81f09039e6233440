// kbsim_counters.h: Nsight-Compute-style memory counters from the executor's access hooks
// (kbsim_access.h).  A request is one warp-level instance of one instruction: the lanes of a warp
// are grouped by site (code address of the access) and occurrence (the k-th time each lane runs it).
// Counts are SOURCE-LEVEL: one C++ access is one instruction; nvcc may merge consecutive scalar
// accesses of a thread into one wider SASS instruction (LDS.64/128, LDG.128), which Nsight counts
// once.  So source-level requests can only be >= the SASS's; sectors and wavefronts of a merged
// access are what the merged instruction needs or more.  Never use them to raise a lower bound.
//
// Per launch (ncu metric each one models):
//   global_load_requests   smsp__inst_executed_op_global_ld.sum
//   global_load_sectors    l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum   (32-byte sectors)
//   global_store_requests  smsp__inst_executed_op_global_st.sum
//   global_store_sectors   l1tex__t_sectors_pipe_lsu_mem_global_op_st.sum
//   shared_load_requests   smsp__inst_executed_op_shared_ld.sum
//   shared_load_wavefronts l1tex__data_pipe_lsu_wavefronts_mem_shared_op_ld.sum
//   shared_store_requests  smsp__inst_executed_op_shared_st.sum
//   shared_store_wavefronts l1tex__data_pipe_lsu_wavefronts_mem_shared_op_st.sum
//   shared_ideal_wavefronts  the wavefronts of the same requests without bank conflicts
//   ldmatrix               smsp__inst_executed_op_ldsm.sum
//   cp_async_requests / _sectors / _bytes   smsp__inst_executed_op_ldgsts.sum / its global sectors / bytes read
//   atomics                smsp__inst_executed_op_global_atom.sum + ..._red (warp-level atomic instructions)
//   atomic_lane_ops, atomic_max_same_address: lanes doing atomics; most lanes of one request on one address
//   barriers               smsp__inst_executed_op_barrier.sum (warp-level BAR.SYNC)
//   shuffles, votes        smsp__inst_executed_op_shfl.sum, vote instructions (warp level)
//   unique_bytes_read/written  distinct global bytes touched (a lower bound on DRAM traffic)
// Shared-memory wavefronts: 32 banks of 4 bytes.  An access of <= 4 bytes per lane is one phase
// of all 32 lanes; 8 bytes: two phases (lanes 0-15, 16-31); 16 bytes: four phases of 8 lanes.
// A phase takes as many wavefronts as the most distinct 4-byte words any bank must deliver
// (a word read by several lanes is one: broadcast); the ideal is one per phase with active lanes.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace kbsim {

struct SiteCounters {
  std::string site;   // file:line
  std::string kind;   // global_load, global_store, shared_load, shared_store, atomic, ldmatrix, cp_async, ...
  unsigned bytes = 0; // bytes per lane
  double requests = 0, sectors = 0, wavefronts = 0, ideal_wavefronts = 0, lanes = 0;
};

struct LaunchCounters {
  std::string kernel;
  unsigned grid[3] = {0, 0, 0}, block[3] = {0, 0, 0};
  long long blocks_total = 0, blocks_run = 0;
  bool sampled = false;
  bool exact = true;       // every sampled block agreed with its check twin (see counters_start)
  std::string note;
  std::map<std::string, double> values;
  std::vector<SiteCounters> sites;
};

// Start counting every launch.  sample: run only representative blocks (per grid dimension the
// first, the last and one interior block, weighted by the blocks of its class; where a class has
// more than one interior block, a second one runs as a check and `exact` turns false if its counts
// differ from the first's).  unique bytes are measured only on full runs (sampled: -1).
void counters_start(bool sample);
std::vector<LaunchCounters> counters_stop();
}  // namespace kbsim
