// The CPU reduction tables: one line per rung, in ladder order (columns: csrc/common/kb_tables.h).
#include "../../common/kb_table_line.h"

namespace kb {
const std::vector<ReduceKernel>& cpu_reduce_kernels() {
  constexpr unsigned kF = kF32 | kF64, kOps = kAllReduceOps;
  using Sum = tol::SumOrder;
  static const std::vector<ReduceKernel> table = {
      // name, dtypes, ops, traits, min_arch, rank, launcher (kb_table_line.h), summation {along a row, ways,
      // along a strided dim (default: sequential, one accumulator a column)}; 03/04: 8 AVX2 registers of 4
      // fp64 lanes (fp32 has 64 accumulators: the fewer of the two is declared)
      {"cpu_01_scalar", kF, kOps, 0, 0, 0, KB_REDUCE_FN(cpu_reduce_01_scalar), {Sum::Sequential, 1}},
      {"cpu_02_multi_accumulators", kF, kOps, 0, 0, 3, KB_REDUCE_FN(cpu_reduce_02_multi_accumulators), {Sum::KWay, 8}},
      {"cpu_03_avx2", kF, kOps, 0, 0, 2, KB_REDUCE_FN(cpu_reduce_03_avx2), {Sum::KWay, 32}},
      {"cpu_04_avx2_openmp", kF, kOps, 0, 0, 1, KB_REDUCE_FN(cpu_reduce_04_avx2_openmp), {Sum::KWay, 32}},
      {"cpu_05_kahan", kF, kSumMean, 0, 0, 0, KB_REDUCE_FN(cpu_reduce_05_kahan), {Sum::Compensated, 1, Sum::Compensated}},
  };
  return table;
}

const std::vector<RowwiseKernel>& cpu_softmax_kernels() {
  static const std::vector<RowwiseKernel> table = {
      // name, dtypes, traits, min_arch, rank, launcher   (softmax and log-softmax: args.log)
      {"cpu_06_softmax", kF32 | kF64, 0, 0, 1, KB_ROWWISE_FN(cpu_reduce_06_softmax)},
  };
  return table;
}

const std::vector<RowwiseKernel>& cpu_l2norm_kernels() {
  static const std::vector<RowwiseKernel> table = {
      {"cpu_07_l2norm", kF32 | kF64, 0, 0, 1, KB_ROWWISE_FN(cpu_reduce_07_l2norm)},
  };
  return table;
}
}  // namespace kb
