// A thin node-addon-api binding over the system libbpf. It knows nothing about drops:
// open an object, set read-only constants, load, attach, read maps and ring buffers, read
// BTF enums, close. Blocking kernel work (load, attach, map and ring reads, BTF parsing) runs in AsyncWorkers.
// Every error names its step, the errno name and libbpf's own message.
#include <napi.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <linux/bpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <malloc.h>
#include <sys/resource.h>
#include <vector>

namespace {

// libbpf reports details (verifier log, relocation failures) through one global print
// callback. Keep the tail of its warnings so errors can carry them.
std::mutex g_log_mutex;
std::string g_log;
constexpr size_t kLogKeep = 8192;

int CaptureLibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[1024];
  int n = vsnprintf(buf, sizeof(buf), fmt, args);
  if (n <= 0) return n;
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_log.append(buf);
  if (g_log.size() > kLogKeep) g_log.erase(0, g_log.size() - kLogKeep);
  return n;
}

void ClearLog() {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_log.clear();
}

std::string TakeLog() {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  std::string out;
  out.swap(g_log);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

const char* ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : "EUNKNOWN";
}

// A failure captured on a worker thread, turned into a JS Error on the main thread.
struct Failure {
  std::string step;
  int err = 0;  // positive errno
  std::string detail;
  std::string log;

  bool failed() const { return err != 0; }

  void Set(const std::string& s, int e, const std::string& d = "") {
    step = s;
    err = e < 0 ? -e : e;
    detail = d;
    log = TakeLog();
  }

  Napi::Error ToError(Napi::Env env) const {
    char msg[256];
    libbpf_strerror(err, msg, sizeof(msg));
    std::string text = step + ": " + (detail.empty() ? "" : detail + ": ") + msg + " (" + ErrnoName(err) + ")";
    Napi::Error e = Napi::Error::New(env, text);
    e.Set("code", Napi::String::New(env, ErrnoName(err)));
    e.Set("errno", Napi::Number::New(env, err));
    e.Set("step", Napi::String::New(env, step));
    e.Set("libbpfLog", Napi::String::New(env, log));
    return e;
  }
};

Napi::Value Reject(Napi::Env env, const Failure& f) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(f.ToError(env).Value());
  return deferred.Promise();
}

class BpfObject;

// Runs fn() on the thread pool and settles a promise with its Failure or result.
class Worker : public Napi::AsyncWorker {
 public:
  using Body = std::function<void(Failure&)>;
  using Result = std::function<Napi::Value(Napi::Env)>;

  Worker(Napi::Env env, const char* name, Napi::Object keep, Body body, Result result)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        body_(std::move(body)),
        result_(std::move(result)) {
    keep_ = Napi::Persistent(keep);
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override { body_(failure_); }

  void OnOK() override {
    Napi::Env env = Env();
    if (failure_.failed()) {
      deferred_.Reject(failure_.ToError(env).Value());
    } else {
      deferred_.Resolve(result_ ? result_(env) : env.Undefined());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference keep_;  // keeps the BpfObject alive while work runs
  Failure failure_;
  Body body_;
  Result result_;
};

// Raw contents of a map: count entries, keys back to back, then values back to back.
// Per-CPU maps hold one value per possible CPU, each rounded up to 8 bytes.
struct MapDump {
  std::vector<uint8_t> keys;
  std::vector<uint8_t> values;
  uint32_t count = 0;
  uint32_t value_stride = 0;
};

bool IsPerCpu(enum bpf_map_type t) {
  return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

// What a batch map operation fails with on a kernel or map type that has none.
bool BatchUnsupported(int err) {
  return err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */;
}

int DumpMap(int fd, uint32_t key_size, uint32_t value_stride, uint32_t max_entries, MapDump* out,
            Failure& f) {
  out->value_stride = value_stride;
  out->keys.assign(size_t(key_size) * max_entries, 0);
  out->values.assign(size_t(value_stride) * max_entries, 0);

  // Batch lookup: a few syscalls for the whole map.
  std::vector<uint8_t> token(key_size < 8 ? 8 : key_size);
  uint32_t total = 0;
  bool first = true;
  for (;;) {
    uint32_t n = max_entries - total;
    if (n == 0) break;
    int err = bpf_map_lookup_batch(fd, first ? nullptr : token.data(), token.data(),
                                   out->keys.data() + size_t(total) * key_size,
                                   out->values.data() + size_t(total) * value_stride, &n, nullptr);
    if (err < 0) err = -errno;
    total += n;
    if (err == -ENOENT) break;  // reached the end
    if (err == 0) {
      first = false;
      continue;
    }
    if (BatchUnsupported(err)) {
      // A kernel or map type without batch ops: 5.10 refuses some map types only after
      // the first batch. Start again one key at a time.
      goto iterate;
    }
    f.Set("read map", err, "bpf_map_lookup_batch");
    return err;
  }
  out->count = total;
  return 0;

iterate:
  // One key at a time. A key deleted between two calls restarts nothing: counts are
  // cumulative and nothing here deletes.
  {
    std::vector<uint8_t> prev(key_size), next(key_size);
    void* prev_ptr = nullptr;
    total = 0;
    while (total < max_entries && bpf_map_get_next_key(fd, prev_ptr, next.data()) == 0) {
      uint8_t* vdst = out->values.data() + size_t(total) * value_stride;
      if (bpf_map_lookup_elem(fd, next.data(), vdst) == 0) {
        memcpy(out->keys.data() + size_t(total) * key_size, next.data(), key_size);
        total++;
      }
      prev = next;
      prev_ptr = prev.data();
    }
    out->count = total;
    return 0;
  }
}

// A map type by the name libbpf gives it ("ringbuf", "hash"...); false if none has it.
bool MapTypeByName(const std::string& name, enum bpf_map_type* out) {
  for (int t = 0;; t++) {
    const char* s = libbpf_bpf_map_type_str(static_cast<enum bpf_map_type>(t));
    if (!s) return false;
    if (name == s) {
      *out = static_cast<enum bpf_map_type>(t);
      return true;
    }
  }
}

// The reader of one BPF ring buffer. The mutex keeps close() from freeing it while a
// worker consumes it.
struct Ring {
  std::mutex mutex;
  ring_buffer* rb = nullptr;
  std::vector<std::vector<uint8_t>> records;

  static int Take(void* ctx, void* data, size_t size) {
    auto* ring = static_cast<Ring*>(ctx);
    auto* bytes = static_cast<uint8_t*>(data);
    ring->records.emplace_back(bytes, bytes + size);
    return 0;
  }
};

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "BpfObject",
                       {
                           InstanceMethod("programs", &BpfObject::Programs),
                           InstanceMethod("maps", &BpfObject::Maps),
                           InstanceMethod("setAutoload", &BpfObject::SetAutoload),
                           InstanceMethod("setConstant", &BpfObject::SetConstant),
                           InstanceMethod("reuseMap", &BpfObject::ReuseMap),
                           InstanceMethod("load", &BpfObject::Load),
                           InstanceMethod("attach", &BpfObject::Attach),
                           InstanceMethod("detach", &BpfObject::Detach),
                           InstanceMethod("readMap", &BpfObject::ReadMap),
                           InstanceMethod("programInfo", &BpfObject::ProgramInfo),
                           InstanceMethod("updateElem", &BpfObject::UpdateElem),
                           InstanceMethod("testRun", &BpfObject::TestRun),
                           InstanceMethod("deleteKeys", &BpfObject::DeleteKeys),
                           InstanceMethod("setMapDefinition", &BpfObject::SetMapDefinition),
                           InstanceMethod("consumeRing", &BpfObject::ConsumeRing),
                           InstanceMethod("close", &BpfObject::Close),
                       });
  }

  // new BpfObject(path, btfCustomPath?)
  BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) {
      Napi::TypeError::New(env, "BpfObject: the first argument must be the path of a BPF object file")
          .ThrowAsJavaScriptException();
      return;
    }
    std::string path = info[0].As<Napi::String>();
    std::string btf_path;
    if (info.Length() > 1 && info[1].IsString()) btf_path = info[1].As<Napi::String>();

    LIBBPF_OPTS(bpf_object_open_opts, opts);
    if (!btf_path.empty()) opts.btf_custom_path = btf_path.c_str();
    ClearLog();
    obj_ = bpf_object__open_file(path.c_str(), &opts);
    if (!obj_) {
      Failure f;
      f.Set("open", errno ? errno : EINVAL, path);
      f.ToError(env).ThrowAsJavaScriptException();
    }
  }

  ~BpfObject() { Release(); }

 private:
  void Release() {
    for (auto& kv : rings_) {
      std::lock_guard<std::mutex> lock(kv.second->mutex);
      ring_buffer__free(kv.second->rb);
      kv.second->rb = nullptr;
    }
    rings_.clear();
    for (auto& kv : links_) bpf_link__destroy(kv.second);
    links_.clear();
    if (obj_) bpf_object__close(obj_);
    obj_ = nullptr;
  }

  bool CheckOpen(Napi::Env env) {
    if (obj_) return true;
    Napi::Error::New(env, "BpfObject is closed").ThrowAsJavaScriptException();
    return false;
  }

  bpf_program* FindProgram(Napi::Env env, const Napi::Value& v) {
    if (!v.IsString()) {
      Napi::TypeError::New(env, "program name must be a string").ThrowAsJavaScriptException();
      return nullptr;
    }
    std::string name = v.As<Napi::String>();
    bpf_program* prog = bpf_object__find_program_by_name(obj_, name.c_str());
    if (!prog) Napi::Error::New(env, "no program named '" + name + "' in the object").ThrowAsJavaScriptException();
    return prog;
  }

  bpf_map* FindMap(Napi::Env env, const Napi::Value& v) {
    if (!v.IsString()) {
      Napi::TypeError::New(env, "map name must be a string").ThrowAsJavaScriptException();
      return nullptr;
    }
    std::string name = v.As<Napi::String>();
    bpf_map* map = bpf_object__find_map_by_name(obj_, name.c_str());
    if (!map) Napi::Error::New(env, "no map named '" + name + "' in the object").ThrowAsJavaScriptException();
    return map;
  }

  // [{ name, section, type }]
  Napi::Value Programs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    Napi::Array out = Napi::Array::New(env);
    bpf_program* prog;
    uint32_t i = 0;
    bpf_object__for_each_program(prog, obj_) {
      Napi::Object p = Napi::Object::New(env);
      p.Set("name", bpf_program__name(prog));
      p.Set("section", bpf_program__section_name(prog));
      const char* type = libbpf_bpf_prog_type_str(bpf_program__type(prog));
      p.Set("type", type ? type : "unknown");
      p.Set("autoload", bpf_program__autoload(prog));
      out.Set(i++, p);
    }
    return out;
  }

  // [{ name, type, keySize, valueSize, maxEntries }]
  Napi::Value Maps(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    Napi::Array out = Napi::Array::New(env);
    bpf_map* map;
    uint32_t i = 0;
    bpf_object__for_each_map(map, obj_) {
      Napi::Object m = Napi::Object::New(env);
      m.Set("name", bpf_map__name(map));
      const char* type = libbpf_bpf_map_type_str(bpf_map__type(map));
      m.Set("type", type ? type : "unknown");
      m.Set("keySize", bpf_map__key_size(map));
      m.Set("valueSize", bpf_map__value_size(map));
      m.Set("maxEntries", bpf_map__max_entries(map));
      out.Set(i++, m);
    }
    return out;
  }

  // setAutoload(program, enabled): before load only.
  Napi::Value SetAutoload(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    bpf_program* prog = FindProgram(env, info[0]);
    if (!prog) return env.Undefined();
    int err = bpf_program__set_autoload(prog, info[1].ToBoolean());
    if (err) {
      Failure f;
      f.Set("set autoload", err, bpf_program__name(prog));
      f.ToError(env).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  // setConstant(name, buffer): writes a `const volatile` global in .rodata before load.
  Napi::Value SetConstant(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsBuffer()) {
      Napi::TypeError::New(env, "setConstant(name, buffer): expected a string and a Buffer")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string name = info[0].As<Napi::String>();
    auto value = info[1].As<Napi::Buffer<uint8_t>>();

    const struct btf* btf = bpf_object__btf(obj_);
    bpf_map* rodata = nullptr;
    bpf_map* m;
    bpf_object__for_each_map(m, obj_) {
      const char* n = bpf_map__name(m);
      size_t len = strlen(n);
      if (len >= 7 && strcmp(n + len - 7, ".rodata") == 0) rodata = m;
    }
    int sec_id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -ENOENT;
    if (!rodata || sec_id < 0) {
      Napi::Error::New(env, "setConstant: the object has no .rodata section").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const struct btf_type* sec = btf__type_by_id(btf, sec_id);
    const struct btf_var_secinfo* vs = btf_var_secinfos(sec);
    for (int i = 0; i < btf_vlen(sec); i++, vs++) {
      const struct btf_type* var = btf__type_by_id(btf, vs->type);
      if (name != btf__name_by_offset(btf, var->name_off)) continue;
      if (value.Length() != vs->size) {
        Napi::TypeError::New(env, "setConstant: '" + name + "' is " + std::to_string(vs->size) +
                                      " bytes, but the value given is " + std::to_string(value.Length()))
            .ThrowAsJavaScriptException();
        return env.Undefined();
      }
      size_t size = 0;
      const void* cur = bpf_map__initial_value(rodata, &size);
      std::vector<uint8_t> data((const uint8_t*)cur, (const uint8_t*)cur + size);
      memcpy(data.data() + vs->offset, value.Data(), vs->size);
      int err = bpf_map__set_initial_value(rodata, data.data(), data.size());
      if (err) {
        Failure f;
        f.Set("set constant", err, name);
        f.ToError(env).ThrowAsJavaScriptException();
      }
      return env.Undefined();
    }
    Napi::Error::New(env, "setConstant: no constant named '" + name + "' in .rodata").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  // reuseMap(name, other): before load, makes this object's map `name` the very map of
  // the same name in another, loaded BpfObject, so programs of both write one map.
  Napi::Value ReuseMap(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    bpf_map* map = FindMap(env, info[0]);
    if (!map) return env.Undefined();
    if (info.Length() < 2 || !info[1].IsObject()) {
      Napi::TypeError::New(env, "reuseMap(name, other): other must be a BpfObject").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    BpfObject* other = BpfObject::Unwrap(info[1].As<Napi::Object>());
    if (!other || !other->obj_) {
      Napi::TypeError::New(env, "reuseMap: the other BpfObject is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    bpf_map* source = bpf_object__find_map_by_name(other->obj_, bpf_map__name(map));
    int fd = source ? bpf_map__fd(source) : -1;
    if (fd < 0) {
      Napi::Error::New(env, std::string("reuseMap: the other object has no loaded map '") + bpf_map__name(map) + "'")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int err = bpf_map__reuse_fd(map, fd);
    if (err) {
      Failure f;
      f.Set("reuse map", err, bpf_map__name(map));
      f.ToError(env).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  // load(): Promise<void>. Verifies and loads every program whose autoload is on.
  Napi::Value Load(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    bpf_object* obj = obj_;
    auto* w = new Worker(
        env, "BpfLoad", Value(),
        [obj](Failure& f) {
          ClearLog();
          int err = bpf_object__load(obj);
          if (err) f.Set("load", err);
          // Loading parsed the kernel's BTF (megabytes) and freed it: give it back.
          malloc_trim(0);
        },
        nullptr);
    w->Queue();
    return w->Promise();
  }

  // attach(program): Promise<void>. Attaches by the program's section (tp_btf/...,
  // tracepoint/..., kprobe/..., fexit/...); the link lives until detach() or close().
  Napi::Value Attach(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    bpf_program* prog = FindProgram(env, info[0]);
    if (!prog) return env.Undefined();
    std::string name = bpf_program__name(prog);
    if (links_.count(name)) {
      Failure f;
      f.Set("attach", EEXIST, name + " is already attached");
      return Reject(env, f);
    }
    auto link = std::make_shared<bpf_link*>(nullptr);
    auto* w = new Worker(
        env, "BpfAttach", Value(),
        [prog, link, name](Failure& f) {
          ClearLog();
          *link = bpf_program__attach(prog);
          if (!*link) f.Set("attach", errno ? errno : EINVAL, name);
        },
        [this, link, name](Napi::Env env) {
          links_[name] = *link;
          return env.Undefined();
        });
    w->Queue();
    return w->Promise();
  }

  // detach(program?): destroys one link, or all of them.
  Napi::Value Detach(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() > 0 && info[0].IsString()) {
      std::string name = info[0].As<Napi::String>();
      auto it = links_.find(name);
      if (it != links_.end()) {
        bpf_link__destroy(it->second);
        links_.erase(it);
      }
      return env.Undefined();
    }
    for (auto& kv : links_) bpf_link__destroy(kv.second);
    links_.clear();
    return env.Undefined();
  }

  // readMap(name): Promise<{ count, keys: Buffer, values: Buffer, valueStride, perCpu }>.
  Napi::Value ReadMap(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    bpf_map* map = FindMap(env, info[0]);
    if (!map) return env.Undefined();
    int fd = bpf_map__fd(map);
    if (fd < 0) {
      Failure f;
      f.Set("read map", EBADF, std::string(bpf_map__name(map)) + " is not loaded");
      return Reject(env, f);
    }
    uint32_t key_size = bpf_map__key_size(map);
    uint32_t value_size = bpf_map__value_size(map);
    uint32_t max_entries = bpf_map__max_entries(map);
    bool per_cpu = IsPerCpu(bpf_map__type(map));
    uint32_t stride = per_cpu ? ((value_size + 7) / 8 * 8) * libbpf_num_possible_cpus() : value_size;
    auto dump = std::make_shared<MapDump>();
    auto* w = new Worker(
        env, "BpfReadMap", Value(),
        [=](Failure& f) { DumpMap(fd, key_size, stride, max_entries, dump.get(), f); },
        [=](Napi::Env env) {
          Napi::Object out = Napi::Object::New(env);
          out.Set("count", dump->count);
          out.Set("keys", Napi::Buffer<uint8_t>::Copy(env, dump->keys.data(), size_t(dump->count) * key_size));
          out.Set("values",
                  Napi::Buffer<uint8_t>::Copy(env, dump->values.data(), size_t(dump->count) * dump->value_stride));
          out.Set("keySize", key_size);
          out.Set("valueSize", value_size);
          out.Set("valueStride", dump->value_stride);
          out.Set("perCpu", per_cpu);
          return out;
        });
    w->Queue();
    return w->Promise();
  }

  // updateElem(map, key, value): writes one element (for non-per-CPU maps).
  Napi::Value UpdateElem(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    bpf_map* map = FindMap(env, info[0]);
    if (!map) return env.Undefined();
    if (info.Length() < 3 || !info[1].IsBuffer() || !info[2].IsBuffer()) {
      Napi::TypeError::New(env, "updateElem(map, key, value): key and value must be Buffers").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto key = info[1].As<Napi::Buffer<uint8_t>>();
    auto value = info[2].As<Napi::Buffer<uint8_t>>();
    if (key.Length() != bpf_map__key_size(map) || value.Length() != bpf_map__value_size(map)) {
      Napi::TypeError::New(env, std::string("updateElem: ") + bpf_map__name(map) + " takes a " +
                                    std::to_string(bpf_map__key_size(map)) + "-byte key and a " +
                                    std::to_string(bpf_map__value_size(map)) + "-byte value")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (bpf_map_update_elem(bpf_map__fd(map), key.Data(), value.Data(), BPF_ANY)) {
      Failure f;
      f.Set("update map", errno, bpf_map__name(map));
      f.ToError(env).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  // deleteKeys(map, keys, count): Promise<number>, deletes `count` keys laid back to back;
  // resolves with how many were deleted (keys already gone are not errors).
  Napi::Value DeleteKeys(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    bpf_map* map = FindMap(env, info[0]);
    if (!map) return env.Undefined();
    if (info.Length() < 3 || !info[1].IsBuffer() || !info[2].IsNumber()) {
      Napi::TypeError::New(env, "deleteKeys(map, keys, count): keys must be a Buffer, count a number")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto buf = info[1].As<Napi::Buffer<uint8_t>>();
    uint32_t count = info[2].As<Napi::Number>().Uint32Value();
    uint32_t key_size = bpf_map__key_size(map);
    if (size_t(count) * key_size > buf.Length()) {
      Napi::TypeError::New(env, "deleteKeys: the buffer holds fewer keys than count").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto keys = std::make_shared<std::vector<uint8_t>>(buf.Data(), buf.Data() + size_t(count) * key_size);
    auto deleted = std::make_shared<uint32_t>(0);
    int fd = bpf_map__fd(map);
    auto* w = new Worker(
        env, "BpfDeleteKeys", Value(),
        [=](Failure& f) {
          // Batch delete: one syscall for all the keys, a few more if some are gone (the
          // kernel stops at a missing key and says how many it deleted before it).
          uint32_t done = 0;
          while (done < count) {
            uint32_t n = count - done;
            int err = bpf_map_delete_batch(fd, keys->data() + size_t(done) * key_size, &n, nullptr);
            if (err < 0) err = -errno;
            done += n;
            *deleted += n;
            if (err == 0 && n > 0) continue;
            if (err == -ENOENT) {
              done++;  // the missing key
              continue;
            }
            if (err == 0 || BatchUnsupported(err)) break;
            f.Set("delete from map", err, "bpf_map_delete_batch");
            return;
          }
          // A kernel or map type without batch ops, or a batch that stopped without an
          // error: the rest one key at a time.
          for (uint32_t i = done; i < count; i++) {
            if (bpf_map_delete_elem(fd, keys->data() + size_t(i) * key_size) == 0) {
              (*deleted)++;
            } else if (errno != ENOENT) {
              f.Set("delete from map", errno);
              return;
            }
          }
        },
        [=](Napi::Env env) { return Napi::Number::New(env, *deleted); });
    w->Queue();
    return w->Promise();
  }

  // programInfo(name): { id, runTimeNs, runCount } from the kernel; run time and count
  // stay zero unless kernel.bpf_stats_enabled is 1.
  // Runs a loaded program once with BPF_PROG_TEST_RUN, ctx as its context (a raw_tp
  // program's arguments); returns its return value. Quick: runs on this thread.
  Napi::Value TestRun(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    bpf_program* prog = FindProgram(env, info[0]);
    if (!prog) return env.Undefined();
    if (info.Length() < 2 || !info[1].IsBuffer()) {
      Napi::TypeError::New(env, "testRun(program, ctx): ctx must be a Buffer").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto ctx = info[1].As<Napi::Buffer<uint8_t>>();
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = ctx.Data(), .ctx_size_in = (uint32_t)ctx.Length());
    if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts)) {
      Failure f;
      f.Set("test run", errno, bpf_program__name(prog));
      f.ToError(env).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Number::New(env, (int32_t)opts.retval);
  }

  Napi::Value ProgramInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    bpf_program* prog = FindProgram(env, info[0]);
    if (!prog) return env.Undefined();
    int fd = bpf_program__fd(prog);
    if (fd < 0) return env.Null();
    struct bpf_prog_info pi;
    memset(&pi, 0, sizeof(pi));
    uint32_t len = sizeof(pi);
    if (bpf_obj_get_info_by_fd(fd, &pi, &len)) {
      Failure f;
      f.Set("program info", errno, bpf_program__name(prog));
      f.ToError(env).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("id", pi.id);
    out.Set("runTimeNs", Napi::BigInt::New(env, (uint64_t)pi.run_time_ns));
    out.Set("runCount", Napi::BigInt::New(env, (uint64_t)pi.run_cnt));
    out.Set("attached", links_.count(bpf_program__name(prog)) > 0);
    return out;
  }

  // setMapDefinition(map, type, keySize, valueSize, maxEntries): before load only.
  Napi::Value SetMapDefinition(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    bpf_map* map = FindMap(env, info[0]);
    if (!map) return env.Undefined();
    if (info.Length() < 5 || !info[1].IsString() || !info[2].IsNumber() || !info[3].IsNumber() ||
        !info[4].IsNumber()) {
      Napi::TypeError::New(env,
                           "setMapDefinition(map, type, keySize, valueSize, maxEntries): expected a string and "
                           "three numbers")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string type_name = info[1].As<Napi::String>();
    enum bpf_map_type type;
    if (!MapTypeByName(type_name, &type)) {
      Napi::TypeError::New(env, "setMapDefinition: no map type named '" + type_name + "'")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int err = bpf_map__set_type(map, type);
    if (!err) err = bpf_map__set_key_size(map, info[2].As<Napi::Number>().Uint32Value());
    if (!err) err = bpf_map__set_value_size(map, info[3].As<Napi::Number>().Uint32Value());
    if (!err) err = bpf_map__set_max_entries(map, info[4].As<Napi::Number>().Uint32Value());
    if (err) {
      Failure f;
      f.Set("set map definition", err, bpf_map__name(map));
      f.ToError(env).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  // consumeRing(map): Promise<Buffer[]>. Takes every record waiting in a ring buffer map,
  // on the thread pool, without waiting for more. One call at a time per map.
  Napi::Value ConsumeRing(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    bpf_map* map = FindMap(env, info[0]);
    if (!map) return env.Undefined();
    std::string name = bpf_map__name(map);
    if (bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF) {
      Napi::TypeError::New(env, "consumeRing: " + name + " is not a ring buffer").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int fd = bpf_map__fd(map);
    if (fd < 0) {
      Failure f;
      f.Set("consume ring", EBADF, name + " is not loaded");
      return Reject(env, f);
    }
    auto& ring = rings_[name];
    if (!ring) {
      auto made = std::make_shared<Ring>();
      ClearLog();
      made->rb = ring_buffer__new(fd, &Ring::Take, made.get(), nullptr);
      if (!made->rb) {
        Failure f;
        f.Set("open ring", errno ? errno : EINVAL, name);
        rings_.erase(name);
        return Reject(env, f);
      }
      ring = made;
    }
    auto taken = std::make_shared<std::vector<std::vector<uint8_t>>>();
    std::shared_ptr<Ring> r = ring;
    auto* w = new Worker(
        env, "BpfConsumeRing", Value(),
        [r, taken, name](Failure& f) {
          std::lock_guard<std::mutex> lock(r->mutex);
          if (!r->rb) {
            f.Set("consume ring", EBADF, name + " is closed");
            return;
          }
          int n = ring_buffer__consume(r->rb);
          taken->swap(r->records);
          r->records.clear();
          if (n < 0) f.Set("consume ring", n, name);
        },
        [taken](Napi::Env env) {
          Napi::Array out = Napi::Array::New(env, taken->size());
          for (size_t i = 0; i < taken->size(); i++) {
            auto& rec = (*taken)[i];
            out.Set(uint32_t(i), Napi::Buffer<uint8_t>::Copy(env, rec.data(), rec.size()));
          }
          return out;
        });
    w->Queue();
    return w->Promise();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  bpf_object* obj_ = nullptr;
  std::map<std::string, bpf_link*> links_;
  std::map<std::string, std::shared_ptr<Ring>> rings_;
};

// readBtfEnum(enumName, btfPath?): Promise<Array<[name, value]> | null>. Reads the
// running kernel's BTF (or the file given) and returns the enum's members.
Napi::Value ReadBtfEnum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "readBtfEnum(enumName, btfPath?): enumName must be a string")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string enum_name = info[0].As<Napi::String>();
  std::string path;
  if (info.Length() > 1 && info[1].IsString()) path = info[1].As<Napi::String>();

  using Members = std::vector<std::pair<std::string, int64_t>>;
  auto members = std::make_shared<Members>();
  auto found = std::make_shared<bool>(false);
  auto* w = new Worker(
      env, "BtfReadEnum", Napi::Object::New(env),
      [=](Failure& f) {
        ClearLog();
        struct btf* btf = path.empty() ? btf__load_vmlinux_btf() : btf__parse(path.c_str(), nullptr);
        if (!btf) {
          f.Set("read BTF", errno ? errno : ENOENT, path.empty() ? "kernel BTF" : path);
          return;
        }
        for (int kind : std::initializer_list<int>{BTF_KIND_ENUM, BTF_KIND_ENUM64}) {
          int id = btf__find_by_name_kind(btf, enum_name.c_str(), kind);
          if (id < 0) continue;
          const struct btf_type* t = btf__type_by_id(btf, id);
          *found = true;
          if (kind == BTF_KIND_ENUM) {
            const struct btf_enum* e = btf_enum(t);
            for (int i = 0; i < btf_vlen(t); i++, e++) {
              int64_t v = btf_kflag(t) ? (int64_t)(int32_t)e->val : (int64_t)(uint32_t)e->val;
              members->emplace_back(btf__name_by_offset(btf, e->name_off), v);
            }
          } else {
            const struct btf_enum64* e = btf_enum64(t);
            for (int i = 0; i < btf_vlen(t); i++, e++)
              members->emplace_back(btf__name_by_offset(btf, e->name_off), (int64_t)btf_enum64_value(e));
          }
          break;
        }
        btf__free(btf);
        malloc_trim(0);
      },
      [=](Napi::Env env) -> Napi::Value {
        if (!*found) return env.Null();
        Napi::Array out = Napi::Array::New(env, members->size());
        for (size_t i = 0; i < members->size(); i++) {
          Napi::Array pair = Napi::Array::New(env, 2);
          pair.Set(0u, (*members)[i].first);
          pair.Set(1u, Napi::Number::New(env, (double)(*members)[i].second));
          out.Set(i, pair);
        }
        return out;
      });
  w->Queue();
  return w->Promise();
}

// raiseMemlock(): { ok: true } or { ok: false, code, errno }. Sets RLIMIT_MEMLOCK to
// infinity; kernels 5.11+ charge BPF memory to the memory cgroup and do not need it.
Napi::Value RaiseMemlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY};
  Napi::Object out = Napi::Object::New(env);
  if (setrlimit(RLIMIT_MEMLOCK, &r) == 0) {
    out.Set("ok", true);
  } else {
    int err = errno;
    out.Set("ok", false);
    out.Set("code", ErrnoName(err));
    out.Set("errno", err);
  }
  return out;
}

// mapTypeSupported(type): whether the running kernel can create maps of this type
// (libbpf's name for it, e.g. "ringbuf").
Napi::Value MapTypeSupported(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "mapTypeSupported(type): type must be a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>();
  enum bpf_map_type type;
  if (!MapTypeByName(name, &type)) {
    Napi::TypeError::New(env, "mapTypeSupported: no map type named '" + name + "'").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Boolean::New(env, libbpf_probe_bpf_map_type(type, nullptr) == 1);
}

// setMallocOption(option, value): mallopt(3) for glibc's "arena_max", "mmap_threshold" or
// "trim_threshold", which GLIBC_TUNABLES cannot set in secure-execution mode (a binary
// with file capabilities). Returns whether glibc took it.
Napi::Value SetMallocOption(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "setMallocOption(option, value): option must be a string and value a number")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  static const std::map<std::string, int> kOptions = {
      {"arena_max", M_ARENA_MAX}, {"mmap_threshold", M_MMAP_THRESHOLD}, {"trim_threshold", M_TRIM_THRESHOLD}};
  std::string name = info[0].As<Napi::String>();
  auto it = kOptions.find(name);
  if (it == kOptions.end()) {
    Napi::TypeError::New(env, "setMallocOption: no malloc option named '" + name + "'").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Boolean::New(env, mallopt(it->second, info[1].As<Napi::Number>().Int32Value()) == 1);
}

Napi::Value PossibleCpus(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), libbpf_num_possible_cpus());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  libbpf_set_print(CaptureLibbpfPrint);
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
  exports.Set("BpfObject", BpfObject::Init(env));
  exports.Set("readBtfEnum", Napi::Function::New(env, ReadBtfEnum));
  exports.Set("raiseMemlock", Napi::Function::New(env, RaiseMemlock));
  exports.Set("possibleCpus", Napi::Function::New(env, PossibleCpus));
  exports.Set("mapTypeSupported", Napi::Function::New(env, MapTypeSupported));
  exports.Set("setMallocOption", Napi::Function::New(env, SetMallocOption));
  return exports;
}

}  // namespace

NODE_API_MODULE(bpf_addon, Init)
