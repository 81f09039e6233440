// The data caches of this CPU as the OS reports them (Linux sysfs, /sys/devices/system/cpu/cpu0/
// cache/index*/), read once per process.  The CPU matmul rungs derive their blocking from these
// (csrc/cpu/matmul/05_machine_blocked.cpp); the benchmark records them beside the measured peaks.
// Where sysfs is missing (another OS, a container hiding it) sysconf(_SC_LEVEL*_CACHE_*) is
// tried, then common sizes (32 KB 8-way L1d, 512 KB 8-way L2, 8 MB 16-way L3) with source
// "assumed".
#pragma once
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace kb {
struct CacheLevel {
  long bytes = 0;      // total size of one instance
  long ways = 0;       // associativity (0: unknown)
  long line = 64;      // line size in bytes
  int shared_cpus = 1; // logical CPUs sharing one instance (from shared_cpu_list)
  long sets() const { return ways > 0 && line > 0 ? bytes / (ways * line) : 0; }
};

struct CpuCaches {
  CacheLevel l1d, l2, l3;  // l3.bytes == 0: no third level reported
  const char* source = "assumed";
};

namespace detail {
inline std::string read_small_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return "";
  char buf[256] = {};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string s(buf, n);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}
inline long parse_size(const std::string& s) {  // "32K", "1024K", "32M", "48"
  if (s.empty()) return 0;
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (end && (*end == 'K' || *end == 'k')) v <<= 10;
  if (end && (*end == 'M' || *end == 'm')) v <<= 20;
  if (end && (*end == 'G' || *end == 'g')) v <<= 30;
  return v;
}
inline int count_cpus(const std::string& list) {  // "0-1", "0,2,4-7"
  int n = 0;
  const char* p = list.c_str();
  while (*p) {
    char* end = nullptr;
    const long a = std::strtol(p, &end, 10);
    if (end == p) break;
    long b = a;
    p = end;
    if (*p == '-') b = std::strtol(p + 1, &end, 10), p = end;
    n += int(b - a + 1);
    if (*p == ',') ++p;
  }
  return n > 0 ? n : 1;
}
}  // namespace detail

inline const CpuCaches& cpu_caches() {
  static const CpuCaches caches = [] {
    CpuCaches c;
    bool found = false;
    for (int i = 0; i < 8; ++i) {
      const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
      const std::string type = detail::read_small_file(dir + "type");
      if (type.empty()) break;
      if (type == "Instruction") continue;
      CacheLevel lv;
      lv.bytes = detail::parse_size(detail::read_small_file(dir + "size"));
      lv.ways = std::atol(detail::read_small_file(dir + "ways_of_associativity").c_str());
      const long line = std::atol(detail::read_small_file(dir + "coherency_line_size").c_str());
      if (line > 0) lv.line = line;
      lv.shared_cpus = detail::count_cpus(detail::read_small_file(dir + "shared_cpu_list"));
      const int level = std::atoi(detail::read_small_file(dir + "level").c_str());
      if (lv.bytes <= 0) continue;
      (level == 1 ? c.l1d : level == 2 ? c.l2 : c.l3) = lv;
      found = found || level == 1;
    }
    if (found) {
      c.source = "sysfs";
    } else {
#if defined(_SC_LEVEL1_DCACHE_SIZE)
      c.l1d.bytes = sysconf(_SC_LEVEL1_DCACHE_SIZE), c.l1d.ways = sysconf(_SC_LEVEL1_DCACHE_ASSOC);
      c.l2.bytes = sysconf(_SC_LEVEL2_CACHE_SIZE), c.l2.ways = sysconf(_SC_LEVEL2_CACHE_ASSOC);
      c.l3.bytes = sysconf(_SC_LEVEL3_CACHE_SIZE), c.l3.ways = sysconf(_SC_LEVEL3_CACHE_ASSOC);
      if (c.l1d.bytes > 0) c.source = "sysconf";
#endif
    }
    // Anything still unknown: common x86 sizes (and say so through `source`).
    if (c.l1d.bytes <= 0) c.l1d.bytes = 32 << 10, c.source = "assumed";
    if (c.l1d.ways <= 0) c.l1d.ways = 8;
    if (c.l2.bytes <= 0) c.l2.bytes = 512 << 10, c.l2.ways = 8;
    if (c.l2.ways <= 0) c.l2.ways = 8;
    if (c.l3.bytes > 0 && c.l3.ways <= 0) c.l3.ways = 16;
    return c;
  }();
  return caches;
}
}  // namespace kb
