// kbsim_hopper.h: sm_90a's asynchronous machinery on the CPU SIMT executor -- what rungs 13 and 14
// use, modelled from the PTX ISA and the CUDA driver API's definitions:
//   * cuTensorMapEncodeTiled (the driver entry point the runtime hands out): the driver's documented
//     argument checks (CUDA_ERROR_INVALID_VALUE), and a tensor map the executor decodes;
//   * cp.async.bulk.tensor (TMA) loads: a box of the tensor map into shared memory, element strides,
//     zero fill outside the tensor, the 32/64/128-byte swizzles; the copy lands at a seeded random
//     moment after its issue and completes its transaction bytes on an mbarrier;
//   * mbarrier: init, arrive, arrive.expect_tx, complete_tx, try_wait.parity with phases; a wait that
//     can never complete is a deadlock, diagnosed with the barrier's state;
//   * wgmma.mma_async m64nNk16 (f16 / bf16 -> f32) with both operands in shared memory: the matrix
//     descriptors are decoded field by field (start address, LBO, SBO, base offset, swizzle mode);
//     wgmma.fence / commit_group / wait_group, results land in the registers at the wait;
//   * setmaxnreg (the warpgroup rule, the register budget of the block), fence.proxy.async and
//     fence.mbarrier_init (ordering only: nothing to model on one CPU thread).
// Shared-memory addresses handed to these instructions are offsets into the block's dynamic shared
// memory (the "shared window"): the executor allocates it 1024-byte aligned, so the address bits the
// swizzles use agree with the host pointers the kernel computes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

namespace kbsim {
namespace hopper {

// ---- device side: what tensor_core.cuh's KB_SIM branches call --------------------------------
unsigned smem_addr(const void* p, const char* file, int line);
void mbar_init(void* bar, unsigned count, const char* file, int line);
// arrive (expect_tx: arrive.expect_tx with `tx_bytes`); returns nothing (the PTX state token is unused).
void mbar_arrive(void* bar, bool expect_tx, unsigned tx_bytes, const char* file, int line);
// mbarrier.try_wait.parity in a loop: returns once the phase of parity `parity` has completed.
void mbar_wait(void* bar, unsigned parity, const char* file, int line);
void fence_barrier_init();
void fence_proxy_async();
// cp.async.bulk.tensor.{rank}d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
void tma_load(void* dst, const void* tmap, void* bar, int rank, const int* coords, const char* file, int line);
void wgmma_fence(const char* file, int line);
// wgmma.mma_async.sync.aligned.m64n{n}k16.f32.{bf16|f16}: d holds n/2 floats of this thread.
void wgmma(float* d, int n, std::uint64_t desc_a, std::uint64_t desc_b, int scale_d, bool bf16, int trans_a,
           int trans_b, const char* file, int line);
void wgmma_commit(const char* file, int line);
void wgmma_wait(int pending, const char* file, int line);
void setmaxnreg(bool inc, unsigned regs, const char* file, int line);

// ---- host side -------------------------------------------------------------------------------
// The executor's cuTensorMapEncodeTiled (returned by cudaGetDriverEntryPoint[ByVersion]); the
// signature of the driver's, with the enums as ints (CUresult 0 success, 1 CUDA_ERROR_INVALID_VALUE).
int encode_tiled(void* tensor_map, int dtype, unsigned rank, void* global_address, const std::uint64_t* global_dim,
                 const std::uint64_t* global_strides, const unsigned* box_dim, const unsigned* element_strides,
                 int interleave, int swizzle, int l2_promotion, int oob_fill);
// Why the last encode_tiled call failed ("" after a success).
const std::string& last_encode_error();

// The byte address the swizzle mode maps a byte address to (shared-window addresses): the 16-byte
// chunk bits [4, 4+b) are XORed with bits [7, 7+b), b = 1, 2, 3 for 32B, 64B, 128B (mode 1-3).
inline std::uint32_t swizzle_address(std::uint32_t addr, int bits) {
  if (bits <= 0) return addr;
  const std::uint32_t mask = (1u << bits) - 1u;
  return addr ^ (((addr >> 7) & mask) << 4);
}

// ---- executor hooks (kbsim_scheduler.cpp and kbsim_diagnose.cpp call these) ---------------------
struct BlockState;
void end_block(BlockState* s);  // frees the block's state (in-flight copies are dropped)
// Lands asynchronous copies: with `stalled` every one in flight (nothing else can make progress),
// otherwise each with probability 1/2.  True when anything landed.
bool progress(BlockState* s, std::mt19937_64& rng, bool stalled);
// For AddressSanitizer reports: non-null when `addr` is the destination of a TMA copy in flight.
const char* in_flight_kind(BlockState* s, const void* addr);

// Tensor-core accumulation model (mma.sync, wmma, wgmma: kbsim::tc::dot): by default the products
// are added in k order with fp32 round-to-nearest; KBSIM_TC_TRUNCATE=1 installs the block-FMA model
// with truncation (blocks of 8 products and the running sum aligned to the largest exponent, 3 extra
// bits, truncated; the sum truncated to fp32), as published measurements of NVIDIA tensor cores
// describe (Fasi, Higham, Mikaitis, Pranesh 2021).
}  // namespace hopper

// ---- what the executor provides to kbsim_hopper.cpp ------------------------------------------
namespace exec {
hopper::BlockState*& hopper_state();            // the running block's (nullptr until first used)
unsigned char* shared_window(std::size_t* bytes);  // the running block's dynamic shared memory
unsigned thread_linear();
unsigned block_threads();
[[noreturn]] void fail(const std::string& msg);  // a diagnosis naming the running thread
// Blocks the running fiber until ready(arg); describe(arg) explains the wait in a deadlock report.
void wait_until(bool (*ready)(const void*), const void* arg, std::string (*describe)(const void*), const char* what,
                const char* file, int line);
void sync_release(void* addr);  // happens-before edges for ThreadSanitizer
void sync_acquire(void* addr);
std::string site(const char* what, const char* file, int line);
}  // namespace exec
}  // namespace kbsim
