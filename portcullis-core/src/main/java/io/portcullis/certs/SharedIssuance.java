package io.portcullis.certs;

import static java.util.Objects.requireNonNull;

import io.portcullis.storage.IssuanceLocks;
import io.portcullis.storage.SharedChallenges;
import io.portcullis.storage.Storage;
import io.portcullis.storage.StoredSecret;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica's turn at issuing a Certificate when replicas share {@link Storage}: CertMagic's discipline on
 * {@link IssuanceLocks}. Take the Certificate's lock, or wait while another replica holds it; once held, follow the
 * shared back-off its notes record, read the stored Secret again (another replica may have stored it meanwhile) and
 * clean up after a holder that died mid-order; then issue, and release the lock with the outcome in its notes (a
 * failure's count, time, message and back-off end, so every replica backs off together and reports the same
 * {@code failedIssuanceAttempts}; a failure of another spec is not followed). With {@link IssuanceLocks#local} it
 * costs a read of the stored Secret per issuance and changes nothing else.
 *
 * <p>Blocking: the certificate manager's thread only.
 */
final class SharedIssuance {
  private static final Logger log = LoggerFactory.getLogger(SharedIssuance.class);
  /** How soon a Certificate whose lock another replica holds is looked at again (the Secret usually comes first). */
  static final Duration RECHECK = Duration.ofSeconds(5);
  // The notes' keys (IssuanceLocks: short strings that outlive holders).
  static final String FAILURES = "failures";
  static final String LAST_FAILURE = "last-failure";
  static final String BACKOFF_UNTIL = "backoff-until";
  static final String MESSAGE = "message";
  /** The spec the failure was for: a changed spec is tried at once, whatever another replica's back-off says. */
  static final String SPEC = "spec";
  /** Set by a holder while its order is in flight: a holder that finds it set took over from one that died. */
  static final String ORDERING = "ordering";
  /** The TXT records an order in flight wrote, {@code dnsName zone fqdn value} joined by {@code ;}. */
  static final String TXT_RECORDS = "txt-records";

  private final IssuanceLocks locks;
  private final Storage storage;
  private final Optional<SharedChallenges> challenges;

  SharedIssuance(IssuanceLocks locks, Storage storage, Optional<SharedChallenges> challenges) {
    this.locks = requireNonNull(locks, "locks");
    this.storage = requireNonNull(storage, "storage");
    this.challenges = requireNonNull(challenges, "challenges");
  }

  /** The locks. */
  IssuanceLocks locks() {
    return locks;
  }

  /** The storage. */
  Storage storage() {
    return storage;
  }

  /** This replica's identity. */
  String identity() {
    return locks.identity();
  }

  /** What {@link #take} decided. */
  sealed interface Turn {}

  /** This replica issues, holding {@code lock}; {@code orphaned} are TXT records a dead holder left. */
  record Take(IssuanceLocks.Lock lock, List<OrphanedTxt> orphanedTxt) implements Turn {}

  /**
   * Not now: {@code why} (a {@code waiting} text, null while backing off) and when to look again.
   */
  record Wait(String why, Instant recheck) implements Turn {}

  /** Another replica stored {@code secret} (fresher than this replica's); the lock was released. */
  record Fresh(StoredSecret secret) implements Turn {}

  /**
   * Takes Certificate {@code c}'s turn.
   *
   * @param ours the Secret this replica serves for it, if any
   * @param manual a forced renewal: the shared back-off does not hold it up
   * @throws IOException when the lock or the storage cannot be reached (nothing is held then)
   */
  Turn take(CertificateConfig c, IssuanceState st, Optional<StoredSecret> ours, Instant now, boolean manual)
      throws IOException {
    IssuanceLocks.Attempt attempt = locks.tryAcquire(c.key());
    if (attempt instanceof IssuanceLocks.Held h) {
      follow(h.notes(), st);
      return new Wait("Issuing: replica " + h.holder() + " holds the issuance lock", now.plus(RECHECK));
    }
    IssuanceLocks.Acquired a = (IssuanceLocks.Acquired) attempt;
    follow(a.notes(), st);
    if (!manual && st.backoffUntil != null && now.isBefore(st.backoffUntil)) {
      a.lock().release(a.notes()); // another replica failed it lately: the shared back-off holds
      return new Wait(null, st.backoffUntil);
    }
    Optional<StoredSecret> fresh;
    try {
      fresh = storage.read(c.secretKey());
    } catch (IOException | RuntimeException e) {
      a.lock().release(a.notes());
      throw e;
    }
    if (fresh.isPresent() && (ours.isEmpty() || (!sameWrite(ours.get(), fresh.get())
        && IssuedSecret.revision(fresh.get()) >= IssuedSecret.revision(ours.get())))) {
      a.lock().release(a.notes());
      return new Fresh(fresh.get());
    }
    List<OrphanedTxt> orphaned = List.of();
    if (a.notes().containsKey(ORDERING)) {
      log.info("certs: Certificate {}: replica {} died while ordering; {} cleans up and takes over", c.key(),
          a.notes().get(ORDERING), locks.identity());
      challenges.ifPresent(ch -> ch.removeAll(c.key()));
      orphaned = txtRecords(a.notes());
    }
    return new Take(a.lock(), orphaned);
  }

  /**
   * Marks the order in flight in the lock's notes, so that the next holder cleans up if this replica dies; returns
   * the journal its TXT records are added to as they are written.
   */
  Journal ordering(IssuanceLocks.Lock lock, IssuanceState st) {
    Journal j = new Journal(lock, notesOf(st));
    j.write();
    return j;
  }

  /** The notes of an order in flight: who orders, and every TXT record written so far. Thread-safe. */
  final class Journal {
    private final IssuanceLocks.Lock lock;
    private final Map<String, String> notes;
    private final StringBuilder txt = new StringBuilder();

    private Journal(IssuanceLocks.Lock lock, Map<String, String> notes) {
      this.lock = lock;
      this.notes = notes;
      notes.put(ORDERING, locks.identity());
    }

    /** Records a TXT record written for {@code dnsName} (before the CA is asked to look: a dead holder's leftovers). */
    synchronized void txtRecord(String dnsName, String zone, String fqdn, String value) {
      txt.append(txt.length() == 0 ? "" : ";").append(dnsName).append(' ').append(zone).append(' ').append(fqdn)
          .append(' ').append(value);
      notes.put(TXT_RECORDS, txt.toString());
      write();
    }

    private synchronized void write() {
      try {
        lock.note(notes);
      } catch (IOException e) {
        log.warn("certs: cannot note the order in flight on its issuance lock: {}", e.getMessage());
      }
    }
  }

  /** A TXT record a dead holder's order left: {@code dnsName} (its solver finds the provider), zone, fqdn, value. */
  record OrphanedTxt(String dnsName, String zone, String fqdn, String value) {}

  /** Releases {@code lock} with the outcome of the attempt in {@code st} (no failure: empty notes). */
  void release(IssuanceLocks.Lock lock, IssuanceState st) {
    lock.release(notesOf(st));
  }

  /** Adopts the shared failure state of {@code notes} when it is newer than this replica's. */
  static void follow(Map<String, String> notes, IssuanceState st) {
    Instant last = instant(notes.get(LAST_FAILURE));
    if (last == null || (st.lastFailure != null && !last.isAfter(st.lastFailure))
        || (st.config != null && !fingerprint(st.config).equals(notes.get(SPEC)))) {
      return;
    }
    st.lastFailure = last;
    st.backoffUntil = instant(notes.get(BACKOFF_UNTIL));
    st.failureMessage = notes.get(MESSAGE);
    try {
      st.failures = Integer.parseInt(notes.getOrDefault(FAILURES, "1"));
    } catch (NumberFormatException e) {
      st.failures = 1;
    }
  }

  private static Map<String, String> notesOf(IssuanceState st) {
    Map<String, String> n = new LinkedHashMap<>();
    if (st.failureMessage != null && st.lastFailure != null) {
      n.put(FAILURES, String.valueOf(st.failures));
      n.put(LAST_FAILURE, st.lastFailure.toString());
      if (st.backoffUntil != null) {
        n.put(BACKOFF_UNTIL, st.backoffUntil.toString());
      }
      String m = st.failureMessage;
      n.put(MESSAGE, m.length() > 1024 ? m.substring(0, 1024) : m);
      if (st.config != null) {
        n.put(SPEC, fingerprint(st.config));
      }
    }
    return n;
  }

  /** A short digest of what {@link CertificateConfig#sameSpec} compares (the origin left out). */
  static String fingerprint(CertificateConfig c) {
    String spec = String.join("|", c.namespace(), c.name(), c.secretName(), String.valueOf(c.commonName()),
        String.valueOf(c.dnsNames()), String.valueOf(c.issuer()), String.valueOf(c.duration()),
        String.valueOf(c.renewBefore()), String.valueOf(c.privateKey()), String.valueOf(c.isCa()),
        String.valueOf(c.usages()), String.valueOf(c.labels()));
    try {
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
          .digest(spec.getBytes(java.nio.charset.StandardCharsets.UTF_8))).substring(0, 16);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<OrphanedTxt> txtRecords(Map<String, String> notes) {
    List<OrphanedTxt> out = new ArrayList<>();
    for (String entry : notes.getOrDefault(TXT_RECORDS, "").split(";")) {
      String[] f = entry.split(" ");
      if (f.length == 4) {
        out.add(new OrphanedTxt(f[0], f[1], f[2], f[3]));
      }
    }
    return out;
  }

  private static Instant instant(String s) {
    try {
      return s == null ? null : Instant.parse(s);
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  /**
   * Whether {@code other} holds what {@code written} holds: its type, its data and every annotation it has (the
   * storage may keep annotations others added, as a Kubernetes Secret does): an echo of this replica's own write.
   */
  static boolean sameWrite(StoredSecret written, StoredSecret other) {
    if (!written.type().equals(other.type()) || !written.data().keySet().equals(other.data().keySet())
        || !written.annotations().entrySet().stream().allMatch(e -> e.getValue().equals(
        other.annotations().get(e.getKey())))) {
      return false;
    }
    return written.data().entrySet().stream().allMatch(e -> Arrays.equals(e.getValue(),
        other.data().get(e.getKey())));
  }


}
