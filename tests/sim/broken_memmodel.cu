// A single-pass reduction (rung 11's last-block pattern) with and without its __threadfence, for
// the memory model between blocks (KBSIM_BLOCKS_IN_FLIGHT, docs/sim.md).  tests/test_sim_memmodel.py
// builds it with kernelbench.sim.build_hooked_program (kernels with the access hooks) and runs
//   broken_memmodel CASE SEEDS   -> "RESULT wrong in K of SEEDS seeds ..." (one launch per seed)
// Blocks run one after another by default, where both kernels are right; with blocks in flight the
// one without the fence reads partials that are not yet visible to it.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/kb_cuda.cuh"

using kb::launch;

constexpr int kThreads = 64;

template <bool FENCE>
__global__ void single_pass_sum(const float* x, int n, float* partial, unsigned* counter, float* out) {
  __shared__ float s[kThreads];
  __shared__ bool am_last;
  const int t = threadIdx.x, i = blockIdx.x * kThreads + t;
  s[t] = i < n ? x[i] : 0.f;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (t < half) s[t] += s[t + half];
    __syncthreads();
  }
  if (t == 0) {
    partial[blockIdx.x] = s[0];
    if (FENCE) __threadfence();  // the partial is visible before the count says so
    const unsigned done = atomicAdd(counter, 1u);
    am_last = done == gridDim.x - 1;
  }
  __syncthreads();
  if (am_last && t == 0) {
    float sum = 0.f;
    for (unsigned b = 0; b < gridDim.x; ++b) sum += partial[b];
    *out = sum;
    *counter = 0;
  }
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string c = argv[1];
  const int seeds = argc > 2 ? std::atoi(argv[2]) : 1;
  if (c != "single_pass_without_fence" && c != "single_pass_with_fence") {
    std::printf("unknown case %s\n", c.c_str());
    return 2;
  }
  const int blocks = 16, n = blocks * kThreads;
  std::vector<float> h(n);
  double want = 0;
  for (int i = 0; i < n; ++i) want += h[i] = (float)(i % 13) - 6.f;
  float *x, *partial, *out;
  unsigned* counter;
  KB_CUDA_CHECK(cudaMalloc(&x, n * sizeof(float)));
  KB_CUDA_CHECK(cudaMemcpy(x, h.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  KB_CUDA_CHECK(cudaMalloc(&counter, sizeof(unsigned)));
  KB_CUDA_CHECK(cudaMemset(counter, 0, sizeof(unsigned)));
  KB_CUDA_CHECK(cudaMalloc(&out, sizeof(float)));
  KB_CUDA_CHECK(cudaMalloc(&partial, blocks * sizeof(float)));
  int wrong = 0;
  try {
    for (int seed = 1; seed <= seeds; ++seed) {
      kbsim::options().seed = (unsigned long long)seed;
      KB_CUDA_CHECK(cudaMemset(partial, 0xff, blocks * sizeof(float)));  // last call's partials: gone (NaN)
      if (c == "single_pass_without_fence")
        launch(single_pass_sum<false>, blocks, kThreads, 0, nullptr, (const float*)x, n, partial, counter, out);
      else
        launch(single_pass_sum<true>, blocks, kThreads, 0, nullptr, (const float*)x, n, partial, counter, out);
      float got = 0.f;
      KB_CUDA_CHECK(cudaMemcpy(&got, out, sizeof(float), cudaMemcpyDeviceToHost));
      wrong += !(std::fabs(got - want) <= 1e-3);
    }
  } catch (const std::exception& e) {
    std::printf("DIAGNOSIS %s\n", e.what());
    return 4;
  }
  std::printf("RESULT %s: wrong in %d of %d seeds (sum of %d values by %d blocks, %d in flight)\n",
              wrong ? "wrong" : "ok", wrong, seeds, n, blocks, kbsim::options().blocks_in_flight);
  return wrong ? 3 : 0;
}
