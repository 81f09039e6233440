// The executor's switches for kernelbench._sim (the pybind11 front door compiled with KB_SIM):
// seed of the thread order, simulated multiprocessor count, checks on/off, launches so far.
#include <pybind11/pybind11.h>
#include "kbsim.h"
#include "kbsim_counters.h"
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
    d["blocks_in_flight"] = o.blocks_in_flight;
    return d;
  });
  m.def("set_sim_options", [](py::object seed, py::object sms, py::object shuffle_order, py::object poison_shared,
                              py::object blocks_in_flight) {
    kbsim::Options& o = kbsim::options();
    if (!seed.is_none()) o.seed = seed.cast<unsigned long long>();
    if (!sms.is_none()) o.sms = std::max(1, sms.cast<int>());
    if (!shuffle_order.is_none()) o.shuffle_order = shuffle_order.cast<bool>();
    if (!poison_shared.is_none()) o.poison_shared = poison_shared.cast<bool>();
    if (!blocks_in_flight.is_none()) o.blocks_in_flight = std::max(1, blocks_in_flight.cast<int>());
  }, py::arg("seed") = py::none(), py::arg("sms") = py::none(), py::arg("shuffle_order") = py::none(),
     py::arg("poison_shared") = py::none(), py::arg("blocks_in_flight") = py::none());
  m.def("sim_launches", &kbsim::launches, "kernel launches the executor has run in this process");
  // Memory counters (kbsim_counters.h): start, run rungs, stop -> one dict per launch.
  m.def("counters_start", &kbsim::counters_start, py::arg("sample") = true);
  m.def("counters_stop", [] {
    py::list out;
    for (const kbsim::LaunchCounters& l : kbsim::counters_stop()) {
      py::dict d;
      for (const auto& kv : l.values) d[py::str(kv.first)] = kv.second;
      d["kernel"] = l.kernel;
      d["grid"] = py::make_tuple(l.grid[0], l.grid[1], l.grid[2]);
      d["block"] = py::make_tuple(l.block[0], l.block[1], l.block[2]);
      d["blocks_run"] = l.blocks_run;
      d["sampled"] = l.sampled;
      d["exact"] = l.exact;
      d["note"] = l.note;
      py::list sites;
      for (const kbsim::SiteCounters& s : l.sites) {
        py::dict e;
        e["site"] = s.site; e["kind"] = s.kind; e["bytes"] = s.bytes; e["requests"] = s.requests;
        e["sectors"] = s.sectors; e["wavefronts"] = s.wavefronts; e["ideal_wavefronts"] = s.ideal_wavefronts;
        e["lanes"] = s.lanes;
        sites.append(e);
      }
      d["sites"] = sites;
      out.append(d);
    }
    return out;
  });
}
