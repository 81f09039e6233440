// CPU matmul rungs: launchers (same contract as CUDA, stream ignored) and element access.
#pragma once
#include "../../common/kb_types.h"

namespace kb {
template <typename T>
inline T a_at(const MatmulArgs& p, const T* a, kb_int64 i, kb_int64 q) {
  return p.trans_a ? a[q * p.lda + i] : a[i * p.lda + q];
}
template <typename T>
inline T b_at(const MatmulArgs& p, const T* b, kb_int64 q, kb_int64 j) {
  return p.trans_b ? b[j * p.ldb + q] : b[q * p.ldb + j];
}

void cpu_matmul_01_naive(const MatmulArgs& p, void* stream);
}  // namespace kb
