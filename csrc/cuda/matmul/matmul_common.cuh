// Device helpers shared by the matmul rungs (NVRTC-compatible): batch offsets and
// bounds-checked element loads that honour the transpose flags of MatmulArgs.
#pragma once
#include "../../common/kb_types.h"
#include "../../common/kb_device.cuh"

namespace kb {
template <typename T>
struct MatmulBatch {
  const T* a;
  const T* b;
  T* c;
};

template <typename T>
__device__ __forceinline__ MatmulBatch<T> batch_pointers(const MatmulArgs& p, kb_int64 batch) {
  MatmulBatch<T> m;
  m.a = static_cast<const T*>(p.a) + batch * p.stride_a;
  m.b = static_cast<const T*>(p.b) + batch * p.stride_b;
  m.c = static_cast<T*>(p.c) + batch * p.stride_c;
  return m;
}

// A(i, q) and B(q, j) as accumulator values; zero outside the matrix (pads partial tiles).
template <typename T>
__device__ __forceinline__ typename Acc<T>::type load_a(const MatmulArgs& p, const T* a, kb_int64 i, kb_int64 q) {
  if (i >= p.m || q >= p.k) return 0;
  return to_float(p.trans_a ? a[q * p.lda + i] : a[i * p.lda + q]);
}
template <typename T>
__device__ __forceinline__ typename Acc<T>::type load_b(const MatmulArgs& p, const T* b, kb_int64 q, kb_int64 j) {
  if (q >= p.k || j >= p.n) return 0;
  return to_float(p.trans_b ? b[j * p.ldb + q] : b[q * p.ldb + j]);
}
}  // namespace kb
