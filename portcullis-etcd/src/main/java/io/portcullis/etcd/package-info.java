/**
 * etcd v3 (jetcd) as the replicas' shared state outside Kubernetes ({@code --storage etcd://host:port,...}):
 * Secrets ({@code Storage}), one lock per Certificate with its notes ({@code IssuanceLocks}) and HTTP-01 key
 * authorizations ({@code SharedChallenges}), on etcd's KV Txn, leases and watches only. Start at
 * {@link io.portcullis.etcd.EtcdConnection}, which connects and makes the three; {@code EtcdKeys} owns the key
 * layout.
 */
package io.portcullis.etcd;
