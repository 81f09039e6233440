// Small broken kernels: each one commits a classic CUDA mistake, and the CPU SIMT executor (or its
// AddressSanitizer / ThreadSanitizer build) must catch it with a specific diagnosis.  They live in
// tests/ only; tests/test_sim.py compiles this file with the host compiler against csrc/sim and runs
// one case per process:   broken_kernels CASE   -> prints "RESULT ok|wrong ..." or "DIAGNOSIS ..."
// The `fixed_*` cases are the same kernels done right: they must pass cleanly under every build.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/kb_cuda.cuh"
#include "cuda/matmul/cp_async.cuh"

using kb::launch;

// 1. A block shares values through shared memory but forgets the barrier between write and read.
template <bool SYNC>
__global__ void neighbour_sum(const float* x, float* out, int n) {
  __shared__ float s[64];
  const int t = threadIdx.x;
  s[t] = x[blockIdx.x * 64 + t];
  if (SYNC) __syncthreads();
  out[blockIdx.x * 64 + t] = s[t] + s[(t + 1) % 64];
  (void)n;
}

// 2. A tile loader whose bounds check is off by one (<= instead of <): reads one past the edge.
template <bool FIXED>
__global__ void tile_copy(const float* x, float* out, int n) {
  __shared__ float tile[32];
  const int i = blockIdx.x * 32 + threadIdx.x;
  tile[threadIdx.x] = (FIXED ? i < n : i <= n) ? x[i] : 0.f;
  __syncthreads();
  if (i < n) out[i] = 2.f * tile[threadIdx.x];
}

// 3. A float4 load from an address that is not 16-byte aligned.
__global__ void vector_load(const float* x, float* out, int offset) {
  const float4 v = *reinterpret_cast<const float4*>(x + offset + 4 * threadIdx.x);
  out[threadIdx.x] = v.x + v.y + v.z + v.w;
}

// 4. A barrier inside a branch that only part of the block takes.
template <bool FIXED>
__global__ void divergent_barrier(float* out) {
  __shared__ float s[64];
  s[threadIdx.x] = (float)threadIdx.x;
  if (FIXED || threadIdx.x < 16) __syncthreads();
  out[threadIdx.x] = s[63 - threadIdx.x];
}

// 5. The last-warp tree of a reduction written warp-synchronously with no __syncwarp (pre-Volta style).
template <bool SYNC>
__global__ void warp_tree(const float* x, float* out) {
  __shared__ float s[64];
  const unsigned t = threadIdx.x;
  s[t] = x[t] + x[t + 32];
  s[t + 32] = 0.f;
  __syncwarp();
  volatile float* v = s;
  for (unsigned off = 16; off > 0; off /= 2) {
    if (SYNC) {
      const float a = v[t] + v[t + off];
      __syncwarp();
      v[t] = a;
      __syncwarp();
    } else {
      v[t] = v[t] + v[t + off];
    }
  }
  if (t == 0) *out = v[0];
}

// 6. cp.async into shared memory, then a read before cp.async.wait_group.
template <bool WAIT>
__global__ void async_copy(const float* x, float* out) {
  __shared__ __align__(16) float s[128];
  const int t = threadIdx.x;
  kb::cp_async_16(s + 4 * t, x + 4 * t, 16);
  kb::cp_async_commit();
  if (WAIT) kb::cp_async_wait<0>();
  __syncthreads();
  out[t] = s[4 * ((t + 1) % 32)];
}

// 6b. A two-stage cp.async pipeline whose refill of the next stage is issued before the barrier that
// frees it: a warp still reading that stage (the previous tile) may see the next tile's data.
template <bool FIXED>
__global__ void pipelined_sum(const float* x, float* out, int tiles) {
  __shared__ __align__(16) float stage[2][64];
  const int t = threadIdx.x;  // 64 threads; threads 0-15 copy a 64-float tile, 16 bytes each
  if (t < 16) kb::cp_async_16(&stage[0][4 * t], x + 4 * t, 16);
  kb::cp_async_commit();
  float acc = 0.f;
  for (int k = 0; k < tiles; ++k) {
    if (!FIXED) {  // too early: threads of the other warp may still read stage (k + 1) % 2 = tile k - 1
      if (k + 1 < tiles && t < 16) kb::cp_async_16(&stage[(k + 1) & 1][4 * t], x + (k + 1) * 64 + 4 * t, 16);
      kb::cp_async_commit();
      kb::cp_async_wait<1>();
    } else {
      kb::cp_async_wait<0>();
    }
    __syncthreads();  // tile k landed and visible; every thread is done with tile k - 1
    if (FIXED) {
      if (k + 1 < tiles && t < 16) kb::cp_async_16(&stage[(k + 1) & 1][4 * t], x + (k + 1) * 64 + 4 * t, 16);
      kb::cp_async_commit();
    }
    for (int j = 0; j < 64; j += 8) acc += stage[k & 1][(t + j + 13) % 64];
  }
  out[t] = acc;
}

// 7. A shuffle in which one named lane has already returned.
__global__ void shuffle_after_exit(float* out) {
  float v = (float)threadIdx.x;
  if (threadIdx.x == 5) return;
  v += __shfl_down_sync(0xffffffffu, v, 1);
  out[threadIdx.x] = v;
}

// 8. A kernel any launch configuration error hits before it runs.
__global__ void nothing(float* out) { out[threadIdx.x] = 1.f; }

// 9. Dynamic shared memory above 48 KB without the opt-in attribute.
__global__ void big_dynamic(float* out) {
  KB_DYNAMIC_SHARED(float, s);
  s[threadIdx.x] = 1.f;
  __syncthreads();
  out[threadIdx.x] = s[threadIdx.x];
}

// ------------------------------------------------------------------ driver
static float* dev(std::vector<float> h) {
  float* d = nullptr;
  KB_CUDA_CHECK(cudaMalloc(&d, h.size() * sizeof(float)));
  KB_CUDA_CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice));
  return d;
}
static std::vector<float> host(const float* d, size_t n) {
  std::vector<float> h(n);
  KB_CUDA_CHECK(cudaMemcpy(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost));
  return h;
}
static std::vector<float> iota(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = (float)(i % 97) - 40.f;
  return v;
}
static int verdict(bool ok, const std::string& what) {
  std::printf("RESULT %s %s\n", ok ? "ok" : "wrong", what.c_str());
  return ok ? 0 : 3;
}

static int run(const std::string& c) {
  float* out = nullptr;
  KB_CUDA_CHECK(cudaMalloc(&out, 4096 * sizeof(float)));
  if (c == "missing_syncthreads" || c == "fixed_syncthreads") {
    const auto h = iota(128);
    float* x = dev(h);
    if (c == "missing_syncthreads") launch(neighbour_sum<false>, 2, 64, 0, nullptr, x, out, 128);
    else launch(neighbour_sum<true>, 2, 64, 0, nullptr, x, out, 128);
    const auto y = host(out, 128);
    bool ok = true;
    for (int i = 0; i < 128; ++i) ok &= y[i] == h[i] + h[(i / 64) * 64 + (i % 64 + 1) % 64];
    return verdict(ok, "neighbour sums");
  }
  if (c == "off_by_one_tile_edge" || c == "fixed_tile_edge") {
    const int n = 100;
    const auto h = iota(n);
    float* x = dev(h);   // exactly n floats: x[n] is past the allocation
    if (c == "off_by_one_tile_edge") launch(tile_copy<false>, 4, 32, 0, nullptr, x, out, n);
    else launch(tile_copy<true>, 4, 32, 0, nullptr, x, out, n);
    const auto y = host(out, n);
    bool ok = true;
    for (int i = 0; i < n; ++i) ok &= y[i] == 2 * h[i];
    return verdict(ok, "tile copy");
  }
  if (c == "misaligned_float4" || c == "aligned_float4") {
    float* x = dev(iota(260));
    launch(vector_load, 1, 32, 0, nullptr, (const float*)x, out, c == "misaligned_float4" ? 1 : 4);
    return verdict(true, "vector loads");
  }
  if (c == "barrier_in_divergent_branch" || c == "fixed_barrier") {
    if (c == "barrier_in_divergent_branch") launch(divergent_barrier<false>, 1, 64, 0, nullptr, out);
    else launch(divergent_barrier<true>, 1, 64, 0, nullptr, out);
    const auto y = host(out, 64);
    bool ok = true;
    for (int i = 0; i < 64; ++i) ok &= y[i] == (float)(63 - i);
    return verdict(ok, "reversed");
  }
  if (c == "warp_tree_without_syncwarp" || c == "warp_tree_with_syncwarp") {
    const auto h = iota(64);
    float* x = dev(h);
    if (c == "warp_tree_without_syncwarp") launch(warp_tree<false>, 1, 32, 0, nullptr, (const float*)x, out);
    else launch(warp_tree<true>, 1, 32, 0, nullptr, (const float*)x, out);
    double want = 0;
    for (float v : h) want += v;
    const float got = host(out, 1)[0];
    return verdict(got == (float)want, "sum " + std::to_string(got) + " want " + std::to_string(want));
  }
  if (c == "cp_async_read_before_wait" || c == "cp_async_waited") {
    const auto h = iota(128);
    float* x = dev(h);
    if (c == "cp_async_read_before_wait") launch(async_copy<false>, 1, 32, 0, nullptr, (const float*)x, out);
    else launch(async_copy<true>, 1, 32, 0, nullptr, (const float*)x, out);
    const auto y = host(out, 32);
    bool ok = true;
    for (int t = 0; t < 32; ++t) ok &= y[t] == h[4 * ((t + 1) % 32)];
    return verdict(ok, "async copy");
  }
  if (c == "cp_async_refill_before_barrier" || c == "cp_async_refill_after_barrier") {
    const int tiles = 8;
    const auto h = iota(64 * tiles);
    float* x = dev(h);
    if (c == "cp_async_refill_before_barrier") launch(pipelined_sum<false>, 1, 64, 0, nullptr, (const float*)x, out, tiles);
    else launch(pipelined_sum<true>, 1, 64, 0, nullptr, (const float*)x, out, tiles);
    const auto y = host(out, 64);
    bool ok = true;
    for (int t = 0; t < 64; ++t) {
      float want = 0.f;
      for (int k = 0; k < tiles; ++k)
        for (int j = 0; j < 64; j += 8) want += h[k * 64 + (t + j + 13) % 64];
      ok &= y[t] == want;
    }
    return verdict(ok, "pipelined sums");
  }
  if (c == "shuffle_after_exit") {
    launch(shuffle_after_exit, 1, 32, 0, nullptr, out);
    return verdict(true, "shuffle");
  }
  if (c == "block_too_large") {
    launch(nothing, 1, 2048, 0, nullptr, out);
    return verdict(true, "launched");
  }
  if (c == "grid_y_too_large") {
    launch(nothing, dim3(1, 70000, 1), 32, 0, nullptr, out);
    return verdict(true, "launched");
  }
  if (c == "dynamic_smem_without_optin" || c == "dynamic_smem_with_optin") {
    if (c == "dynamic_smem_with_optin")
      KB_CUDA_CHECK(cudaFuncSetAttribute(reinterpret_cast<const void*>(&big_dynamic),
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024));
    launch(big_dynamic, 1, 32, 64 * 1024, nullptr, out);
    return verdict(host(out, 1)[0] == 1.f, "dynamic smem");
  }
  if (c == "dynamic_smem_above_sm90_limit") {
    KB_CUDA_CHECK(cudaFuncSetAttribute(reinterpret_cast<const void*>(&big_dynamic),
                                       cudaFuncAttributeMaxDynamicSharedMemorySize, 240 * 1024));
    return verdict(true, "opt-in accepted");
  }
  std::printf("unknown case %s\n", c.c_str());
  return 2;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  try {
    return run(argv[1]);
  } catch (const std::exception& e) {
    std::printf("DIAGNOSIS %s\n", e.what());
    return 4;
  }
}
