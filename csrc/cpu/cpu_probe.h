// Measured peaks of this CPU, for "% of peak" (kernelbench/bench/peaks.py calls these through the
// pybind module and stores the figures in the result file):
//   probe_fma_flops     FMA throughput of one ISA: every thread runs independent FMA chains (more
//                       than latency x ports of them) on registers; best of a few short trials.
//   probe_read_bandwidth  bytes/s read by every thread streaming its share of a working set of the
//                       given total size again and again (vector loads summed into independent
//                       accumulators); best of a few trials.
// Each call takes about `seconds` (a few milliseconds to tens of them).
#pragma once
#include <cstddef>

namespace kb {
// isa: "avx512" or "avx2" (0 when the hardware lacks it or the name is another);
// f64: double lanes; threads <= 0: all of OpenMP's.  Returns FLOP/s (an FMA counts 2).
double probe_fma_flops(const char* isa, bool f64, int threads, double seconds);
// Total working set `bytes` split evenly among `threads` (<= 0: all); returns bytes/s.
double probe_read_bandwidth(std::size_t bytes, int threads, double seconds);
// The widest vector ISA the hardware has (ignores the KB_CPU_ISA cap): "avx512", "avx2", "scalar".
const char* cpu_isa_hardware_name();
}  // namespace kb
