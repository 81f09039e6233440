// Small kernels whose memory counters are derived by hand in tests/test_sim_counters.py.  Built by
// that test with the executor's access hooks (kernel-address call mode) against build/kb_native/libsim.a:
//   counter_kernels CASE   -> one line "COUNT key value" per counter of the launch, "SITE ..." per site
#include <cstdio>
#include <cstring>
#include <string>

#include "common/kb_cuda.cuh"
#include "sim/kbsim_counters.h"

using kb::launch;

// One warp reads one float per lane, lane l at x[l * stride]: stride 1 is coalesced, stride 64
// (a row of a 64-wide matrix per lane, like the naive matmul's A loads) is row-strided.
__global__ void strided_load(const float* x, float* out, int stride) {
  out[threadIdx.x] = x[threadIdx.x * stride];
}

// Shared stores at word (lane * stride): stride 32 puts all 32 lanes in bank 0, stride 33 (padding)
// spreads them over the 32 banks.
__global__ void shared_store(const float* x, float* out, int stride) {
  __shared__ float s[32 * 33];
  s[threadIdx.x * stride] = x[threadIdx.x];
  __syncthreads();
  out[threadIdx.x] = s[threadIdx.x * stride];
}

// 16-byte shared loads (LDS.128): lane l reads the float4 at index l * stride.
// (The float4 is copied whole: used field by field, the host compiler would load only the fields used.)
__global__ void shared_load128(const float* x, float4* out, int stride) {
  __shared__ float4 s[64];
  for (int i = threadIdx.x; i < 64; i += 32) s[i] = make_float4(x[0], x[0], x[0], x[0]);
  __syncthreads();
  out[threadIdx.x] = s[threadIdx.x * stride];
}

// Every lane reads the same word (index from the host, so the compiler cannot fold it).
__global__ void broadcast(const float* x, float* out, int index) {
  __shared__ float s[32];
  s[threadIdx.x] = x[index];
  __syncthreads();
  out[threadIdx.x] = s[index];
}

// Every lane of two warps adds to one counter.
__global__ void contended_atomic(unsigned* counter) { atomicAdd(counter, 1u); }

// A tiled copy over a rows x cols matrix with leading dimension ld (16 x 16 tiles, edge tiles partial):
// the sampling test runs it on every block and on the representative blocks only.
__global__ void tile_copy(const float* x, float* out, int rows, int cols, int ld) {
  __shared__ float t[16][17];
  const int r = blockIdx.y * 16 + threadIdx.y, c = blockIdx.x * 16 + threadIdx.x;
  t[threadIdx.y][threadIdx.x] = r < rows && c < cols ? x[(long)r * ld + c] : 0.f;
  __syncthreads();
  if (r < rows && c < cols) out[(long)r * ld + c] = t[threadIdx.y][threadIdx.x];
}

// Block b reads 32 floats from x[4 b]: 16 bytes further per block, so blocks differ in sectors (4 or 5).
__global__ void skewed_load(const float* x, float* out) {
  out[blockIdx.x * 32 + threadIdx.x] = x[blockIdx.x * 4 + threadIdx.x];
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string c = argv[1];
  float *x, *out;
  unsigned* counter;
  cudaMalloc((void**)&x, 64 * 64 * sizeof(float));
  cudaMalloc((void**)&out, 64 * sizeof(float));
  cudaMalloc((void**)&counter, sizeof(unsigned));
  cudaMemset(x, 0, 64 * 64 * sizeof(float));
  const bool sample = argc > 2 && std::string(argv[2]) == "sample";
  float *big, *big_out;
  cudaMalloc((void**)&big, 100 * 104 * sizeof(float));
  cudaMalloc((void**)&big_out, 100 * 104 * sizeof(float));
  kbsim::counters_start(sample);
  if (c == "coalesced_load") launch(strided_load, 1, 32, 0, nullptr, x, out, 1);
  else if (c == "row_strided_load") launch(strided_load, 1, 32, 0, nullptr, x, out, 64);
  else if (c == "bank_conflict_32way") launch(shared_store, 1, 32, 0, nullptr, x, out, 32);
  else if (c == "bank_conflict_padded") launch(shared_store, 1, 32, 0, nullptr, x, out, 33);
  else if (c == "lds128") launch(shared_load128, 1, 32, 0, nullptr, x, reinterpret_cast<float4*>(x), 1);
  else if (c == "lds128_stride2") launch(shared_load128, 1, 32, 0, nullptr, x, reinterpret_cast<float4*>(x), 2);
  else if (c == "broadcast") launch(broadcast, 1, 32, 0, nullptr, x, out, 0);
  else if (c == "contended_atomic") launch(contended_atomic, 1, 64, 0, nullptr, counter);
  // 100 x 90 in 16 x 16 tiles: a 6 x 7 grid, partial tiles at the right and bottom edges.
  else if (c == "tile_copy_ld104") launch(tile_copy, dim3(6, 7), dim3(16, 16), 0, nullptr, big, big_out, 100, 90, 104);
  else if (c == "skewed_load") launch(skewed_load, 6, 32, 0, nullptr, big, big_out);
  else return 2;
  for (const kbsim::LaunchCounters& l : kbsim::counters_stop()) {
    std::printf("KERNEL %s\nBLOCKS_RUN %lld\nEXACT %d\n", l.kernel.c_str(), l.blocks_run, (int)l.exact);
    for (const auto& kv : l.values) std::printf("COUNT %s %.0f\n", kv.first.c_str(), kv.second);
    for (const auto& s : l.sites)
      std::printf("SITE %s %s bytes=%u requests=%.0f sectors=%.0f wavefronts=%.0f ideal=%.0f\n", s.site.c_str(),
                  s.kind.c_str(), s.bytes, s.requests, s.sectors, s.wavefronts, s.ideal_wavefronts);
  }
  return 0;
}
