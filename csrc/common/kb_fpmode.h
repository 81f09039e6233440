// kb_fpmode.h: run our CPU kernels in IEEE mode (subnormals kept) whatever the calling thread set.
// TensorFlow's inter-op/intra-op threads run with flush-to-zero and denormals-are-zero on; our
// kernels are specified (docs/semantics.md) to give the same results through every front door, so
// the TF door clears FTZ/DAZ around a kernel call and restores the caller's mode afterwards.
#pragma once
#if defined(__x86_64__) || defined(_M_X64) || defined(__SSE2__)
#include <xmmintrin.h>
#define KB_HAVE_MXCSR 1
#endif

namespace kb {

class IeeeFloatMode {
 public:
#if KB_HAVE_MXCSR
  static constexpr unsigned kFlushToZero = 1u << 15, kDenormalsAreZero = 1u << 6;
  IeeeFloatMode() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ & ~(kFlushToZero | kDenormalsAreZero)); }
  ~IeeeFloatMode() { _mm_setcsr(saved_); }
 private:
  unsigned saved_;
#elif defined(__aarch64__)
  static constexpr unsigned long kFlushToZero = 1ul << 24;  // FPCR.FZ
  IeeeFloatMode() {
    __asm__ volatile("mrs %0, fpcr" : "=r"(saved_));
    const unsigned long ieee = saved_ & ~kFlushToZero;
    __asm__ volatile("msr fpcr, %0" : : "r"(ieee));
  }
  ~IeeeFloatMode() { __asm__ volatile("msr fpcr, %0" : : "r"(saved_)); }
 private:
  unsigned long saved_;
#else
  IeeeFloatMode() = default;  // no known flush-to-zero control: the caller's mode stands
#endif
 public:
  IeeeFloatMode(const IeeeFloatMode&) = delete;
  IeeeFloatMode& operator=(const IeeeFloatMode&) = delete;
};

}  // namespace kb
