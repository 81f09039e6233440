// Reads outside a matrix that change no result (issue 21): a tile loader whose row guard lets it
// read one row past the M edge, and one whose column guard reads the padding of each row
// (ld > cols).  The values land in shared-memory cells whose outputs are never stored, so every
// result is right; only the executor's extent check (csrc/sim/kbsim_extent.h) reports them.  The
// regions come from kbsim::regions_of(MatmulArgs), as for every launch through a kernel table.
//   broken_extent CASE   -> "RESULT ok|wrong" or "DIAGNOSIS <the executor's message>"
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/kb_cuda.cuh"
#include "common/kb_types.h"
#include "sim/kbsim_extent.h"

using kb::launch;

// Row sums of a 32-row tile of A (m x k, leading dimension lda): 32 x 8 threads stage the tile in
// shared memory, then 32 threads add up the k valid columns of their row.
enum Defect { kNone = 0, kRowPastEdge = 1, kRowPadding = 2 };
template <int DEFECT>
__global__ void tile_row_sums(const float* a, float* out, int m, int k, int lda) {
  __shared__ float t[32][33];
  const int row0 = blockIdx.x * 32;
  for (int r = threadIdx.y; r < 32; r += 8) {
    const int row = row0 + r;
    const bool row_ok = DEFECT == kRowPastEdge ? row <= m : row < m;          // the defect: <=
    const bool col_ok = DEFECT == kRowPadding ? (int)threadIdx.x < lda : (int)threadIdx.x < k;  // reads the padding
    t[r][threadIdx.x] = row_ok && col_ok ? a[(long)row * lda + threadIdx.x] : 0.f;
  }
  __syncthreads();
  if (threadIdx.y == 0 && row0 + (int)threadIdx.x < m) {
    float s = 0.f;
    for (int c = 0; c < k; ++c) s += t[threadIdx.x][c];
    out[row0 + threadIdx.x] = s;
  }
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string c = argv[1];
  const int m = 40, k = 20, lda = 24;  // two 32-row tiles, the second partial; 4 columns of padding
  // A ends exactly where its last row's valid columns end; the padding holds NaN.
  const std::size_t a_elems = (std::size_t)(m - 1) * lda + k;
  std::vector<float> ha(a_elems, NAN);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < k; ++j) ha[(std::size_t)i * lda + j] = (float)(i + j % 3);
  float *a, *b, *out;
  cudaMalloc((void**)&a, a_elems * sizeof(float));
  cudaMalloc((void**)&b, k * sizeof(float));
  cudaMalloc((void**)&out, m * sizeof(float));
  cudaMemcpy(a, ha.data(), a_elems * sizeof(float), cudaMemcpyHostToDevice);
  // The launch's argument struct, as a front door would fill it: A (m x k), B (k x 1), C = out (m x 1).
  kb::MatmulArgs p{};
  p.a = a; p.b = b; p.c = out;
  p.m = m; p.n = 1; p.k = k; p.batch = 1;
  p.lda = lda; p.ldb = 1; p.ldc = 1;
  p.dtype = kb::DType::F32;
  const kbsim::ExtentScope scope(kbsim::regions_of(p));
  try {
    const dim3 grid((m + 31) / 32), block(32, 8);
    if (c == "row_past_edge") launch(tile_row_sums<kRowPastEdge>, grid, block, 0, nullptr, (const float*)a, out, m, k, lda);
    else if (c == "row_padding") launch(tile_row_sums<kRowPadding>, grid, block, 0, nullptr, (const float*)a, out, m, k, lda);
    else if (c == "fixed") launch(tile_row_sums<kNone>, grid, block, 0, nullptr, (const float*)a, out, m, k, lda);
    else return 2;
  } catch (const kbsim::Failure& e) {
    std::printf("DIAGNOSIS %s\n", e.what());
    return 0;
  }
  std::vector<float> h(m);
  cudaMemcpy(h.data(), out, m * sizeof(float), cudaMemcpyDeviceToHost);
  bool ok = true;
  for (int i = 0; i < m; ++i) {
    float want = 0.f;
    for (int j = 0; j < k; ++j) want += (float)(i + j % 3);
    ok &= h[i] == want;
  }
  std::printf("RESULT %s\n", ok ? "ok" : "wrong");
  return 0;
}
