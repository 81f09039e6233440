// The executor's switches for kernelbench._sim (the pybind11 front door compiled with KB_SIM):
// seed of the thread order, simulated multiprocessor count, checks on/off, launches so far.
#include <pybind11/pybind11.h>
#include "kbsim.h"
#undef threadIdx
#undef blockIdx
#undef blockDim
#undef gridDim
#undef warpSize

namespace py = pybind11;

void kbsim_bind(py::module_& m) {
  static py::exception<kbsim::Failure> failure(m, "SimFailure", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const kbsim::Failure& e) {
      failure(e.what());
    }
  });
  m.attr("is_simulator") = true;
  m.def("sim_options", [] {
    const kbsim::Options& o = kbsim::options();
    py::dict d;
    d["seed"] = o.seed;
    d["sms"] = o.sms;
    d["shuffle_order"] = o.shuffle_order;
    d["poison_shared"] = o.poison_shared;
    return d;
  });
  m.def("set_sim_options", [](py::object seed, py::object sms, py::object shuffle_order, py::object poison_shared) {
    kbsim::Options& o = kbsim::options();
    if (!seed.is_none()) o.seed = seed.cast<unsigned long long>();
    if (!sms.is_none()) o.sms = std::max(1, sms.cast<int>());
    if (!shuffle_order.is_none()) o.shuffle_order = shuffle_order.cast<bool>();
    if (!poison_shared.is_none()) o.poison_shared = poison_shared.cast<bool>();
  }, py::arg("seed") = py::none(), py::arg("sms") = py::none(), py::arg("shuffle_order") = py::none(),
     py::arg("poison_shared") = py::none());
  m.def("sim_launches", &kbsim::launches, "kernel launches the executor has run in this process");
}
