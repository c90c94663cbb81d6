package io.portcullis.etcd;

import io.portcullis.storage.IssuanceLocks;
import java.util.Map;

/**
 * A replica in a child JVM, to be killed with {@code kill -9}: connects to {@code args[0]} ({@code --storage}) as
 * {@code args[1]}, takes lock {@code args[2]}, notes {@code owes=txt-record}, publishes HTTP-01 token {@code args[3]}
 * (owner: the lock's name), prints {@code HELD} and waits to be killed.
 */
public final class LockHolder {
  private LockHolder() {}

  public static void main(String[] args) throws Exception {
    EtcdConnection etcd = EtcdConnection.connect(args[0], EtcdConnection.Options.defaults());
    IssuanceLocks locks = etcd.locks(args[1]);
    if (!(locks.tryAcquire(args[2]) instanceof IssuanceLocks.Acquired acquired)) {
      System.out.println("NOT ACQUIRED");
      System.exit(2);
      return;
    }
    acquired.lock().note(Map.of("owes", "txt-record"));
    etcd.challenges().put(args[3], args[3] + ".thumbprint", args[2]);
    System.out.println("HELD");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
