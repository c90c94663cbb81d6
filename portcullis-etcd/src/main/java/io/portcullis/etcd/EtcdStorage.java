package io.portcullis.etcd;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.portcullis.storage.Storage;
import io.portcullis.storage.StoredSecret;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd as the certificate manager's {@link Storage}: one key per Secret, {@code /portcullis/secrets/<namespace>/<name>}
 * ({@link EtcdKeys}), whose value is a JSON document {@code {"type": ..., "annotations": {...}, "data": {key:
 * base64}}}. {@link #put} is one KV Put (atomic: a reader sees the old or the new document); {@link #read} a
 * linearizable Range of one key; {@link #load} a linearizable prefix Range, whose revision {@link #subscribe} watches
 * from.
 *
 * <p>A subscription is an etcd Watch on the prefix. jetcd resumes it after a transient error; whatever ends it
 * (a compaction past the revision it wanted, a member lost with its leader, an error jetcd gives up on) is logged as a
 * WARNING and followed by a re-list (a prefix Range: every Secret told as {@code stored}, every one gone as
 * {@code deleted}) and a new Watch from that Range's revision, retried with back-off (0.5 s doubling to 30 s) until
 * it works. Its listener is called on the connection's own thread, in revision order. Thread-safe.
 */
final class EtcdStorage implements Storage {
  private static final Logger log = LoggerFactory.getLogger(EtcdStorage.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long MAX_BACKOFF_MS = 30_000;

  private final EtcdConnection etcd;
  private final List<Subscription> subscriptions = new CopyOnWriteArrayList<>();
  /** The revision and keys of the last {@link #load}, where a new subscription starts; 0 when none ran. */
  private volatile long loadedRevision;
  private volatile Set<String> loadedKeys = Set.of();

  EtcdStorage(EtcdConnection etcd) {
    this.etcd = etcd;
  }

  @Override
  public Loaded load() {
    Map<String, StoredSecret> out = new LinkedHashMap<>();
    List<String> problems = new ArrayList<>();
    try {
      long revision = list(out, problems);
      loadedKeys = Set.copyOf(out.keySet());
      loadedRevision = revision;
    } catch (IOException e) {
      problems.add("Secrets: " + e.getMessage());
    }
    return new Loaded(out, problems);
  }

  /** Reads every Secret into {@code out} (problems named in {@code problems}); returns the Range's revision. */
  private long list(Map<String, StoredSecret> out, List<String> problems) throws IOException {
    GetResponse r = etcd.call(() -> etcd.client().getKVClient().get(EtcdKeys.bytes(EtcdKeys.SECRETS),
        GetOption.builder().isPrefix(true).build()), "Range " + EtcdKeys.SECRETS + "*");
    for (KeyValue kv : r.getKvs()) {
      String k = kv.getKey().toString(StandardCharsets.UTF_8);
      Optional<String> name = EtcdKeys.secretName(k);
      if (name.isEmpty()) {
        problems.add("etcd key " + k + ": not a Secret key (expected: " + EtcdKeys.SECRETS + "<namespace>/<name>)");
        continue;
      }
      try {
        out.put(name.get(), decode(name.get(), kv.getValue().getBytes()));
      } catch (IOException e) {
        problems.add("etcd key " + k + ": " + e.getMessage() + "; it will be issued again");
      }
    }
    return r.getHeader().getRevision();
  }

  @Override
  public void put(StoredSecret secret) throws IOException {
    String key = EtcdKeys.secret(secret.namespace(), secret.name());
    etcd.call(() -> etcd.client().getKVClient().put(EtcdKeys.bytes(key),
            io.etcd.jetcd.ByteSequence.from(encode(secret)), PutOption.builder().withAutoRetry().build()),
        "Put " + key);
  }

  @Override
  public Optional<StoredSecret> read(String key) throws IOException {
    String k = EtcdKeys.secret(key);
    GetResponse r = etcd.call(() -> etcd.client().getKVClient().get(EtcdKeys.bytes(k)), "Range " + k);
    if (r.getKvs().isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(decode(key, r.getKvs().get(0).getValue().getBytes()));
    } catch (IOException e) {
      return Optional.empty(); // corrupt: as load() leaves it out, it is issued again and replaced
    }
  }

  @Override
  public void subscribe(Listener listener) {
    Subscription s = new Subscription(java.util.Objects.requireNonNull(listener, "listener"));
    subscriptions.add(s);
    long from = loadedRevision;
    Set<String> known = loadedKeys;
    etcd.executor().execute(() -> {
      s.known.addAll(known);
      if (from > 0) {
        s.watch(from + 1);
      } else {
        s.watch(0);
      }
    });
  }

  void close() {
    subscriptions.forEach(Subscription::close);
  }

  /** One subscriber's watch; touched only on the connection's thread. */
  private final class Subscription {
    private final Listener listener;
    private final Set<String> known = new HashSet<>();
    private Watch.Watcher watcher;
    private int generation;
    private long backoffMs;
    private volatile boolean closed;

    Subscription(Listener listener) {
      this.listener = listener;
    }

    /** Watches the prefix from {@code revision} (0: from now). */
    void watch(long revision) {
      if (closed) {
        return;
      }
      int gen = ++generation;
      WatchOption.Builder o = WatchOption.builder().isPrefix(true).withRequireLeader(true);
      if (revision > 0) {
        o.withRevision(revision);
      }
      watcher = etcd.client().getWatchClient().watch(EtcdKeys.bytes(EtcdKeys.SECRETS), o.build(),
          new Watch.Listener() {
            @Override
            public void onNext(WatchResponse r) {
              etcd.executor().execute(() -> events(gen, r));
            }

            @Override
            public void onError(Throwable t) {
              etcd.executor().execute(() -> ended(gen, t.getMessage()));
            }

            @Override
            public void onCompleted() {
              etcd.executor().execute(() -> ended(gen, "the stream completed"));
            }
          });
    }

    private void events(int gen, WatchResponse r) {
      if (gen != generation || closed) {
        return; // a stale watch's late events: the re-list covered them
      }
      backoffMs = 0;
      for (WatchEvent e : r.getEvents()) {
        String k = e.getKeyValue().getKey().toString(StandardCharsets.UTF_8);
        Optional<String> name = EtcdKeys.secretName(k);
        if (name.isEmpty()) {
          continue;
        }
        if (e.getEventType() == WatchEvent.EventType.PUT) {
          try {
            StoredSecret s = decode(name.get(), e.getKeyValue().getValue().getBytes());
            known.add(name.get());
            tell(() -> listener.stored(s));
          } catch (IOException ex) {
            log.warn("etcd key {}: {}; left out", k, ex.getMessage());
          }
        } else if (e.getEventType() == WatchEvent.EventType.DELETE) {
          known.remove(name.get());
          tell(() -> listener.deleted(name.get()));
        }
      }
    }

    private void ended(int gen, String why) {
      if (gen != generation || closed) {
        return;
      }
      generation++; // what the ended watcher still says is stale now
      Watch.Watcher w = watcher;
      watcher = null;
      if (w != null) {
        w.close();
      }
      backoffMs = backoffMs == 0 ? 500 : Math.min(MAX_BACKOFF_MS, backoffMs * 2);
      log.warn("etcd watch on {} at {} ended ({}); listing and watching again in {} ms", EtcdKeys.SECRETS,
          etcd.endpoints(), why, backoffMs);
      etcd.executor().schedule(this::relist, backoffMs, TimeUnit.MILLISECONDS);
    }

    /** Tells the listener everything stored now and everything gone since, then watches from there. */
    private void relist() {
      if (closed) {
        return;
      }
      Map<String, StoredSecret> now = new LinkedHashMap<>();
      List<String> problems = new ArrayList<>();
      long revision;
      try {
        revision = list(now, problems);
      } catch (IOException e) {
        backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(500, backoffMs * 2));
        log.warn("etcd watch on {}: cannot list again ({}); retrying in {} ms", EtcdKeys.SECRETS, e.getMessage(),
            backoffMs);
        etcd.executor().schedule(this::relist, backoffMs, TimeUnit.MILLISECONDS);
        return;
      }
      problems.forEach(p -> log.warn("{}; left out", p));
      for (Iterator<String> it = known.iterator(); it.hasNext(); ) {
        String k = it.next();
        if (!now.containsKey(k)) {
          it.remove();
          tell(() -> listener.deleted(k));
        }
      }
      for (StoredSecret s : now.values()) {
        known.add(s.key());
        tell(() -> listener.stored(s));
      }
      log.info("etcd watch on {}: listed {} Secrets at revision {}; watching again", EtcdKeys.SECRETS, now.size(),
          revision);
      watch(revision + 1);
    }

    private void tell(Runnable call) {
      try {
        call.run();
      } catch (RuntimeException e) {
        log.warn("etcd watch on {}: the listener failed", EtcdKeys.SECRETS, e);
      }
    }

    void close() {
      closed = true;
      Watch.Watcher w = watcher;
      if (w != null) {
        w.close();
      }
    }
  }

  /** Returns {@code secret} as its JSON document. */
  static byte[] encode(StoredSecret secret) {
    ObjectNode doc = JSON.createObjectNode();
    doc.put("type", secret.type());
    ObjectNode annotations = doc.putObject("annotations");
    secret.annotations().forEach(annotations::put);
    ObjectNode data = doc.putObject("data");
    secret.data().forEach((k, v) -> data.put(k, Base64.getEncoder().encodeToString(v)));
    try {
      return JSON.writeValueAsBytes(doc);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e); // a tree of strings always serialises
    }
  }

  /**
   * Parses the JSON document of Secret {@code key} ({@code namespace/name}).
   *
   * @throws IOException naming the field that is not what it should be
   */
  static StoredSecret decode(String key, byte[] value) throws IOException {
    JsonNode doc;
    try {
      doc = JSON.readTree(value);
    } catch (JsonProcessingException e) {
      throw new IOException("not JSON (" + e.getOriginalMessage() + ")");
    }
    if (doc == null || !doc.isObject() || !doc.path("type").isTextual()) {
      throw new IOException("type: missing (expected: a JSON object with type, annotations, data)");
    }
    Map<String, String> annotations = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : doc.path("annotations").properties()) {
      if (!e.getValue().isTextual()) {
        throw new IOException("annotations." + e.getKey() + ": " + e.getValue().getNodeType() + " (expected: string)");
      }
      annotations.put(e.getKey(), e.getValue().asText());
    }
    Map<String, byte[]> data = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : doc.path("data").properties()) {
      try {
        data.put(e.getKey(), Base64.getDecoder().decode(e.getValue().asText()));
      } catch (IllegalArgumentException ex) {
        throw new IOException("data." + e.getKey() + ": not base64 (" + ex.getMessage() + ")");
      }
    }
    int slash = key.indexOf('/');
    return new StoredSecret(key.substring(0, slash), key.substring(slash + 1), doc.get("type").asText(), annotations,
        data);
  }
}
