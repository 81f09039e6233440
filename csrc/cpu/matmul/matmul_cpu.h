// CPU matmul rungs: element access and the facts rungs 04/05 report.  Launchers follow the CUDA
// contract (stream ignored); each is declared by its table line (csrc/common/kb_table_line.h).
#pragma once
#include "../../common/kb_tables.h"
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

// Which micro-kernel cpu_04 picks on this CPU for `dtype` ("avx512", "avx2" or "scalar"),
// after the KB_CPU_ISA cap; for reports.
const char* cpu_matmul_04_isa(DType dtype);

// The register tile and blocking cpu_05 uses on this machine for `dtype`, and where they came from;
// for reports (kernelbench info, the result file's environment).
struct CpuGemmBlocking {
  const char* isa;       // "avx512", "avx2" or "scalar" (after the KB_CPU_ISA cap)
  int mr, nr;            // register tile of C
  kb_int64 kc, mc, nc;   // largest blocks (the launcher may shrink them to equal sizes)
  const char* source;    // "BLIS analytical model" or "KB_CPU_BLOCKING"
  const char* caches;    // where the cache sizes came from: "sysfs", "sysconf" or "assumed"
};
CpuGemmBlocking cpu_matmul_05_blocking(DType dtype);
}  // namespace kb
