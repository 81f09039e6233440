// kbsim_fiber.cpp: each CUDA thread of a block is a fiber -- its stack, the context switch (a register
// switch on x86-64, ucontext elsewhere), and the two directions: the scheduler resumes a fiber, a
// fiber yields back at a synchronisation point or its end.  The sanitizers are told about every
// switch (ASan's fiber stacks, TSan's fibers) and the access hooks about the running fiber's memory.
#include "kbsim_internal.h"

#include <sys/mman.h>
#include <unistd.h>

namespace kbsim {
ThreadCtx* g_ctx = nullptr;

namespace internal {
// ---------------------------------------------------------------- stacks
namespace {
std::mutex g_stack_mu;
std::vector<char*> g_stacks;  // free list; each stack has a guard page below it
}  // namespace

char* take_stack() {
  {
    std::lock_guard<std::mutex> g(g_stack_mu);
    if (!g_stacks.empty()) {
      char* s = g_stacks.back();
      g_stacks.pop_back();
      return s;
    }
  }
  const long page = sysconf(_SC_PAGESIZE);
  void* m = mmap(nullptr, kStack + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) throw Failure("kbsim: out of memory for fiber stacks");
  mprotect(m, page, PROT_NONE);
  return static_cast<char*>(m) + page;
}
void give_stack(char* s) {
  std::lock_guard<std::mutex> g(g_stack_mu);
  g_stacks.push_back(s);
}

// ---------------------------------------------------------------- context switch
// x86-64: a switch saves the callee-saved registers and the FP control words on the old stack
// and loads the new stack pointer (no system call, unlike swapcontext's signal-mask update).
#if defined(__x86_64__)
extern "C" void kbsim_ctx_switch(void** save_sp, void* load_sp);
asm(R"(
.text
.globl kbsim_ctx_switch
.hidden kbsim_ctx_switch
.type kbsim_ctx_switch,@function
kbsim_ctx_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size kbsim_ctx_switch,.-kbsim_ctx_switch
)");
void ctx_init(Context& c, char* stack, std::size_t size, void (*entry)()) {
#ifdef KBSIM_ASAN
  ASAN_UNPOISON_MEMORY_REGION(stack, size);  // a reused stack may hold an abandoned fiber's redzones
#endif
  auto top = reinterpret_cast<std::uintptr_t>(stack + size) & ~std::uintptr_t(15);
  auto* w = reinterpret_cast<std::uint64_t*>(top);
  w[-1] = 0;                                            // fake return address of the entry
  w[-2] = reinterpret_cast<std::uint64_t>(entry);       // `ret` lands here, rsp % 16 == 8
  for (int i = 3; i <= 8; ++i) w[-i] = 0;               // rbp rbx r12 r13 r14 r15
  w[-9] = 0x037F00001F80ull;                            // mxcsr (low), x87 control word (high)
  c.sp = &w[-9];
}
void ctx_switch(Context& from, Context& to) { kbsim_ctx_switch(&from.sp, to.sp); }
#else
void ctx_init(Context& c, char* stack, std::size_t size, void (*entry)()) {
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = size;
  c.uc.uc_link = nullptr;
  makecontext(&c.uc, entry, 0);
}
void ctx_switch(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
#endif

// ---------------------------------------------------------------- switching
void yield_fiber(SimThread* t, bool exiting) {
  Block* b = g_block;
#ifdef KBSIM_ASAN
  __sanitizer_start_switch_fiber(exiting ? nullptr : &t->asan_fake, b->sched_bottom, b->sched_size);
#endif
#ifdef KBSIM_TSAN
  __tsan_switch_to_fiber(b->tsan_sched, __tsan_switch_to_fiber_no_sync);
#endif
  ctx_switch(t->uc, b->sched);
  (void)exiting;
#ifdef KBSIM_ASAN
  __sanitizer_finish_switch_fiber(t->asan_fake, nullptr, nullptr);
#endif
}

void resume(Block* b, SimThread* t) {
  b->cur = t;
  g_ctx = &t->ctx;
#ifdef KBSIM_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, t->stack, kStack);
#endif
#ifdef KBSIM_TSAN
  __tsan_switch_to_fiber(t->tsan_fiber, __tsan_switch_to_fiber_no_sync);
#endif
  access_enter_fiber(t->stack, kStack, b->dyn, b->dyn_size);  // the access hooks' address spaces
  ctx_switch(b->sched, t->uc);
  access_leave_fiber();
#ifdef KBSIM_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  b->cur = nullptr;
  g_ctx = nullptr;
}
}  // namespace internal
}  // namespace kbsim
