#include "fault_disk.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace idp::service::test {

namespace {

// Our file: the sqlite3_file header SQLite sees, then the real VFS's file of szOsFile bytes.
struct FaultFile {
  sqlite3_file base;
  bool faultable;  // under the folder the fault applies to
};

sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;
std::mutex g_mu;  // guards g_folder
std::string g_folder;
std::atomic<DiskFault> g_fault{DiskFault::kNone};
std::atomic<int> g_refused{0};

sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<sqlite3_file*>(reinterpret_cast<FaultFile*>(f) + 1); }

// The error the OS would give now for a write to `f`, or SQLITE_OK.
int refusal(sqlite3_file* f, int readonly_code) {
  if (!reinterpret_cast<FaultFile*>(f)->faultable) return SQLITE_OK;
  switch (g_fault.load()) {
    case DiskFault::kNone:
      return SQLITE_OK;
    case DiskFault::kFull:
      ++g_refused;
      return SQLITE_FULL;
    case DiskFault::kReadOnly:
      ++g_refused;
      return readonly_code;
  }
  return SQLITE_OK;
}

int x_close(sqlite3_file* f) {
  int rc = real(f)->pMethods->xClose(real(f));
  f->pMethods = nullptr;
  return rc;
}
int x_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return real(f)->pMethods->xRead(real(f), buf, n, off);
}
int x_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (int rc = refusal(f, SQLITE_IOERR_WRITE)) return rc;
  return real(f)->pMethods->xWrite(real(f), buf, n, off);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int rc = refusal(f, SQLITE_IOERR_TRUNCATE)) return rc == SQLITE_FULL ? SQLITE_IOERR_TRUNCATE : rc;
  return real(f)->pMethods->xTruncate(real(f), size);
}
int x_sync(sqlite3_file* f, int flags) { return real(f)->pMethods->xSync(real(f), flags); }
int x_file_size(sqlite3_file* f, sqlite3_int64* size) { return real(f)->pMethods->xFileSize(real(f), size); }
int x_lock(sqlite3_file* f, int level) { return real(f)->pMethods->xLock(real(f), level); }
int x_unlock(sqlite3_file* f, int level) { return real(f)->pMethods->xUnlock(real(f), level); }
int x_check_reserved(sqlite3_file* f, int* out) {
  return real(f)->pMethods->xCheckReservedLock(real(f), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  return real(f)->pMethods->xFileControl(real(f), op, arg);
}
int x_sector_size(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
int x_device(sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); }
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return real(f)->pMethods->xShmMap(real(f), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
int x_shm_unmap(sqlite3_file* f, int del) { return real(f)->pMethods->xShmUnmap(real(f), del); }
int x_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  // No memory-mapped reads: they would bypass nothing, but keep every access in view.
  (void)f, (void)off, (void)n;
  *out = nullptr;
  return SQLITE_OK;
}
int x_unfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

const sqlite3_io_methods kMethods = {
    3,          x_close,      x_read,         x_write,     x_truncate,        x_sync,
    x_file_size, x_lock,      x_unlock,       x_check_reserved, x_file_control, x_sector_size,
    x_device,   x_shm_map,    x_shm_lock,     x_shm_barrier, x_shm_unmap,     x_fetch,
    x_unfetch};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* ff = reinterpret_cast<FaultFile*>(f);
  ff->base.pMethods = nullptr;
  {
    std::lock_guard lock(g_mu);
    ff->faultable = name && !g_folder.empty() && std::strncmp(name, g_folder.c_str(), g_folder.size()) == 0;
  }
  int rc = g_real->xOpen(g_real, name, real(f), flags, out_flags);
  if (real(f)->pMethods) ff->base.pMethods = &kMethods;
  return rc;
}

}  // namespace

void install_fault_disk() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_real = sqlite3_vfs_find(nullptr);
    if (!g_real) throw std::runtime_error("no default SQLite VFS");
    g_vfs = *g_real;
    g_vfs.zName = "fault-disk";
    g_vfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + g_real->szOsFile;
    g_vfs.xOpen = x_open;
    g_vfs.pNext = nullptr;
    if (sqlite3_vfs_register(&g_vfs, 1) != SQLITE_OK) throw std::runtime_error("cannot register the VFS");
  });
}

void set_disk_fault(DiskFault fault, const std::string& folder) {
  {
    std::lock_guard lock(g_mu);
    if (!folder.empty()) g_folder = folder;
  }
  g_fault = fault;
}

int refused_writes() { return g_refused.load(); }

}  // namespace idp::service::test
