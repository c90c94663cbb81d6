package io.portcullis.storage;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Map;

/**
 * A replica's identity: what it writes as a Lease's {@code holderIdentity}, an etcd lock's owner and in log lines.
 * {@code POD_NAME} (the downward API's {@code metadata.name}) when set, else the host name, as client-go's leader
 * election uses; replicas on one host outside Kubernetes must set {@code POD_NAME} to tell themselves apart.
 */
public final class ReplicaIdentity {
  private ReplicaIdentity() {}

  /** Returns the identity of this process. */
  public static String current() {
    return of(System.getenv());
  }

  /** Returns the identity for environment {@code env}: {@code POD_NAME}, else the host name, else "portcullis". */
  public static String of(Map<String, String> env) {
    String pod = env.get("POD_NAME");
    if (pod != null && !pod.isBlank()) {
      return pod.trim();
    }
    try {
      String host = InetAddress.getLocalHost().getHostName();
      if (host != null && !host.isBlank()) {
        return host;
      }
    } catch (UnknownHostException e) {
      // fall through
    }
    String host = env.get("HOSTNAME");
    return host != null && !host.isBlank() ? host.trim() : "portcullis";
  }
}
