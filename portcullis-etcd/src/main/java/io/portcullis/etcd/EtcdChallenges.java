package io.portcullis.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.TxnOption;
import io.portcullis.storage.SharedChallenges;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link SharedChallenges} on etcd: token {@code T} is key {@code /portcullis/http01/T}, whose value is
 * {@code {"keyAuthorization": ..., "owner": "<namespace>/<name>"}}, attached to the writer's {@link ProcessLease}, so
 * that the tokens of a replica that died vanish by themselves within the lease's TTL (15 s). {@link #put} is one KV
 * Put (committed by a quorum before it returns, so a linearizable read on any member sees it); {@link #get} a
 * linearizable Range of one key; {@link #removeAll} a prefix Range of the tokens (a handful) and one Txn deleting
 * the owner's. A token that is not base64url is never looked up: {@link #get} returns empty. Thread-safe.
 */
final class EtcdChallenges implements SharedChallenges {
  private static final Logger log = LoggerFactory.getLogger(EtcdChallenges.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final EtcdConnection etcd;

  EtcdChallenges(EtcdConnection etcd) {
    this.etcd = etcd;
  }

  @Override
  public void put(String token, String keyAuthorization, String owner) throws IOException {
    String key = EtcdKeys.http01(token).orElseThrow(() -> new IllegalArgumentException("HTTP-01 token: \"" + token
        + "\" (expected: base64url, RFC 8555 §8.1)"));
    byte[] value = JSON.writeValueAsBytes(Map.of("keyAuthorization", keyAuthorization, "owner", owner));
    long lease = etcd.lease().current().id;
    etcd.call(() -> etcd.client().getKVClient().put(EtcdKeys.bytes(key), ByteSequence.from(value),
        PutOption.builder().withLeaseId(lease).withAutoRetry().build()), "Put " + key);
  }

  @Override
  public void remove(String token) {
    Optional<String> key = EtcdKeys.http01(token);
    if (key.isEmpty()) {
      return;
    }
    try {
      etcd.call(() -> etcd.client().getKVClient().delete(EtcdKeys.bytes(key.get()),
          DeleteOption.builder().withAutoRetry().build()), "Delete " + key.get());
    } catch (IOException e) {
      log.warn("HTTP-01 token {}: cannot remove it ({}); it expires with its writer's lease", token,
          e.getMessage());
    }
  }

  @Override
  public void removeAll(String owner) {
    try {
      GetResponse r = etcd.call(() -> etcd.client().getKVClient().get(EtcdKeys.bytes(EtcdKeys.HTTP01),
          GetOption.builder().isPrefix(true).build()), "Range " + EtcdKeys.HTTP01 + "*");
      List<Op> deletes = new ArrayList<>();
      for (KeyValue kv : r.getKvs()) {
        if (owner.equals(parse(kv).path("owner").asText(null))) {
          deletes.add(Op.delete(kv.getKey(), DeleteOption.DEFAULT));
        }
      }
      if (!deletes.isEmpty()) {
        etcd.call(() -> etcd.client().getKVClient().txn(TxnOption.builder().withAutoRetry().build())
            .Then(deletes.toArray(Op[]::new)).commit(), "Txn delete the HTTP-01 tokens of " + owner);
        log.info("HTTP-01: removed {} token(s) of {}", deletes.size(), owner);
      }
    } catch (IOException e) {
      log.warn("HTTP-01 tokens of {}: cannot remove them ({}); they expire with their writer's lease", owner,
          e.getMessage());
    }
  }

  @Override
  public Optional<String> get(String token) throws IOException {
    Optional<String> key = EtcdKeys.http01(token);
    if (key.isEmpty()) {
      return Optional.empty();
    }
    GetResponse r = etcd.call(() -> etcd.client().getKVClient().get(EtcdKeys.bytes(key.get())), "Range " + key.get());
    if (r.getKvs().isEmpty()) {
      return Optional.empty();
    }
    return Optional.ofNullable(parse(r.getKvs().get(0)).path("keyAuthorization").asText(null));
  }

  private static JsonNode parse(KeyValue kv) {
    try {
      return JSON.readTree(kv.getValue().getBytes());
    } catch (IOException e) {
      log.warn("etcd key {}: not JSON ({}); ignored", kv.getKey(), e.getMessage());
      return JSON.missingNode();
    }
  }
}
