package io.portcullis.etcd;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.TxnOption;
import io.portcullis.storage.IssuanceLocks;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link IssuanceLocks} on etcd: lock {@code name} is key {@code /portcullis/locks/<name>}, whose value is the
 * holder's identity, attached to the holder's {@link ProcessLease} (TTL 15 s, kept alive by jetcd), so it vanishes
 * 15 s at most after its holder dies; its notes are key {@code /portcullis/notes/<name>}, a JSON object of strings,
 * with no lease (notes outlive holders). Only etcd's Txn and leases decide who holds what; nothing here votes.
 * <ul>
 *   <li>{@link #tryAcquire}: one Txn: if the lock key's create revision is 0 (absent), put it with the lease and get
 *       the notes; else get the lock key (its holder) and the notes. The create revision of the key this Txn put
 *       (the Txn's revision) then names this holding: a later holding of the same name has another.
 *   <li>{@link Lock#note}: one Txn putting the notes only if the lock key still has this holder's value and create
 *       revision.
 *   <li>{@link Lock#release}: one Txn putting the notes and deleting the lock key under the same comparison. The
 *       lease is not revoked: it is the process's, and carries its other locks and tokens.
 *   <li>{@link Lock#held()}: false once released, or once the lease could not be renewed within its TTL.
 * </ul>
 * Txns are retried by jetcd when a member is unavailable. A retried {@code tryAcquire} whose first attempt did
 * commit finds the key holding this identity on this process's lease and no local holding of it: that holding is
 * this caller's and is returned as {@link Acquired}. Blocking, at most the connection's timeout per call.
 * Thread-safe.
 */
final class EtcdLocks implements IssuanceLocks {
  private static final Logger log = LoggerFactory.getLogger(EtcdLocks.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeReference<Map<String, String>> NOTES = new TypeReference<>() {};
  private static final TxnOption RETRIED = TxnOption.builder().withAutoRetry().build();

  private final EtcdConnection etcd;
  private final String identity;
  private final Registry registry;

  /** The locks held through one connection (hence one lease), by name, whichever {@link EtcdLocks} took them. */
  static final class Registry {
    private final Map<String, EtcdLock> held = new ConcurrentHashMap<>();
  }

  EtcdLocks(EtcdConnection etcd, String identity, Registry registry) {
    this.etcd = etcd;
    this.identity = identity;
    this.registry = registry;
  }

  @Override
  public String identity() {
    return identity;
  }

  @Override
  public Attempt tryAcquire(String name) throws IOException {
    ByteSequence lockKey = EtcdKeys.bytes(EtcdKeys.lock(name));
    ByteSequence notesKey = EtcdKeys.bytes(EtcdKeys.notes(name));
    ProcessLease.Grant lease = etcd.lease().current();
    TxnResponse r = etcd.call(() -> etcd.client().getKVClient().txn(RETRIED)
        .If(new Cmp(lockKey, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
        .Then(Op.put(lockKey, EtcdKeys.bytes(identity), PutOption.builder().withLeaseId(lease.id).build()),
            Op.get(notesKey, GetOption.DEFAULT))
        .Else(Op.get(lockKey, GetOption.DEFAULT), Op.get(notesKey, GetOption.DEFAULT))
        .commit(), "Txn acquire " + EtcdKeys.lock(name));
    List<GetResponse> gets = r.getGetResponses();
    Map<String, String> notes = notes(name, gets.get(gets.size() - 1));
    if (r.isSucceeded()) {
      return acquired(name, lease, r.getHeader().getRevision(), notes);
    }
    List<KeyValue> lockKv = gets.get(0).getKvs();
    if (lockKv.isEmpty()) {
      throw new IOException("etcd " + etcd.endpoints() + ": Txn acquire " + EtcdKeys.lock(name)
          + ": the lock key is neither absent nor present");
    }
    KeyValue kv = lockKv.get(0);
    String holder = kv.getValue().toString(StandardCharsets.UTF_8);
    EtcdLock mine = registry.held.get(name);
    if (mine != null && !mine.held()) {
      registry.held.remove(name, mine);
      mine = null;
    }
    if (mine == null && holder.equals(identity) && kv.getLease() == lease.id) {
      log.info("etcd lock {}: held on this process's lease with no local holder (a retried acquire that had"
          + " committed); taking it", name);
      return acquired(name, lease, kv.getCreateRevision(), notes);
    }
    return new Held(holder, notes);
  }

  private Acquired acquired(String name, ProcessLease.Grant lease, long createRevision, Map<String, String> notes) {
    EtcdLock lock = new EtcdLock(name, lease, createRevision);
    registry.held.put(name, lock);
    return new Acquired(lock, notes);
  }

  private Map<String, String> notes(String name, GetResponse r) {
    if (r.getKvs().isEmpty()) {
      return Map.of();
    }
    try {
      return JSON.readValue(r.getKvs().get(0).getValue().getBytes(), NOTES);
    } catch (IOException e) {
      log.warn("etcd key {}: not a JSON object of strings ({}); starting with no notes", EtcdKeys.notes(name),
          e.getMessage());
      return Map.of();
    }
  }

  private static ByteSequence json(Map<String, String> notes) {
    try {
      return ByteSequence.from(JSON.writeValueAsBytes(Map.copyOf(notes)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e); // a map of strings always serialises
    }
  }

  @Override
  public void close() {
    for (EtcdLock lock : registry.held.values()) {
      if (lock.owner() == this) {
        lock.release(null);
      }
    }
  }

  /** One holding of lock {@code name}: the lock key with this identity and {@code createRevision}. */
  private final class EtcdLock implements Lock {
    private final String name;
    private final ProcessLease.Grant lease;
    private final long createRevision;
    private final AtomicBoolean released = new AtomicBoolean();

    EtcdLock(String name, ProcessLease.Grant lease, long createRevision) {
      this.name = name;
      this.lease = lease;
      this.createRevision = createRevision;
    }

    EtcdLocks owner() {
      return EtcdLocks.this;
    }

    @Override
    public boolean held() {
      return !released.get() && lease.alive();
    }

    private Cmp[] stillMine() {
      ByteSequence lockKey = EtcdKeys.bytes(EtcdKeys.lock(name));
      return new Cmp[] {
          new Cmp(lockKey, Cmp.Op.EQUAL, CmpTarget.createRevision(createRevision)),
          new Cmp(lockKey, Cmp.Op.EQUAL, CmpTarget.value(EtcdKeys.bytes(identity)))};
    }

    @Override
    public void note(Map<String, String> notes) throws IOException {
      if (!held()) {
        throw new IOException("etcd lock " + name + ": no longer held by " + identity + "; notes not written");
      }
      TxnResponse r = etcd.call(() -> etcd.client().getKVClient().txn(RETRIED)
          .If(stillMine())
          .Then(Op.put(EtcdKeys.bytes(EtcdKeys.notes(name)), json(notes), PutOption.DEFAULT))
          .commit(), "Txn note " + EtcdKeys.notes(name));
      if (!r.isSucceeded()) {
        throw new IOException("etcd lock " + name + ": no longer held by " + identity
            + " (its key expired or was replaced); notes not written");
      }
    }

    /** Releases it; {@code notes} null leaves the notes as they are. */
    @Override
    public void release(Map<String, String> notes) {
      if (!released.compareAndSet(false, true)) {
        return;
      }
      registry.held.remove(name, this);
      ByteSequence lockKey = EtcdKeys.bytes(EtcdKeys.lock(name));
      Op delete = Op.delete(lockKey, DeleteOption.DEFAULT);
      Op[] then = notes == null ? new Op[] {delete}
          : new Op[] {Op.put(EtcdKeys.bytes(EtcdKeys.notes(name)), json(notes), PutOption.DEFAULT), delete};
      try {
        TxnResponse r = etcd.call(() -> etcd.client().getKVClient().txn(RETRIED).If(stillMine()).Then(then).commit(),
            "Txn release " + EtcdKeys.lock(name));
        if (!r.isSucceeded()) {
          log.warn("etcd lock {}: was no longer held by {} when released (its lease expired); notes not written",
              name, identity);
        }
      } catch (IOException e) {
        log.warn("etcd lock {}: cannot release it ({}); it expires with lease {} within {} s of this process's"
            + " end", name, e.getMessage(), Long.toHexString(lease.id), ProcessLease.TTL_SECONDS);
      }
    }
  }
}
