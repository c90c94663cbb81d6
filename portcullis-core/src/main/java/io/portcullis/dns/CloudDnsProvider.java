package io.portcullis.dns;

import com.google.auth.oauth2.GoogleCredentials;
import com.google.cloud.dns.ChangeRequestInfo;
import com.google.cloud.dns.Dns;
import com.google.cloud.dns.DnsOptions;
import com.google.cloud.dns.RecordSet;
import com.google.cloud.dns.Zone;
import io.portcullis.config.ParseErrors;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Google Cloud DNS through Google's client ({@code google-cloud-dns}): the managed zone is {@code hostedZoneName}
 * or found by DNS name; a TXT value is added with one change that deletes the RRset as it was and adds it back with
 * the value (Cloud DNS changes whole RRsets), removed the same way. Calls of one provider are serialized.
 */
public final class CloudDnsProvider implements DnsProvider {
  private static final int TTL = 60;
  private final String project;
  private final String hostedZoneName;
  private final Dns dns;

  /**
   * @param project {@code cloudDNS.project}
   * @param hostedZoneName {@code cloudDNS.hostedZoneName}, or empty to find the zone by DNS name
   * @param serviceAccountJson the service account key ({@code serviceAccountSecretRef}), or empty for Google's
   *     application default credentials
   * @param host the API root, or empty for Google's (a test's server otherwise)
   * @throws IllegalArgumentException when the service account key cannot be read
   */
  public CloudDnsProvider(String project, String hostedZoneName, Optional<String> serviceAccountJson,
      Optional<String> host) {
    this.project = project;
    this.hostedZoneName = hostedZoneName;
    GoogleCredentials creds;
    try {
      creds = serviceAccountJson.isPresent() ? GoogleCredentials.fromStream(new ByteArrayInputStream(
          serviceAccountJson.get().getBytes(StandardCharsets.UTF_8))) : GoogleCredentials.getApplicationDefault();
    } catch (IOException | RuntimeException e) {
      // google-auth's JSON parser may quote the file, which holds a private key.
      throw new IllegalArgumentException("cannot read the service account key: " + ParseErrors.withoutInput(
          String.valueOf(e.getMessage()), serviceAccountJson.orElse("")) + " (expected: a Google service account JSON "
          + "key)");
    }
    DnsOptions.Builder b = DnsOptions.newBuilder().setProjectId(project).setCredentials(creds.createScoped(
        "https://www.googleapis.com/auth/ndev.clouddns.readwrite"));
    host.ifPresent(b::setHost);
    this.dns = b.build().getService();
  }

  @Override
  public synchronized void present(String zone, String fqdn, String value) throws DnsException {
    String z = zoneName(zone);
    Optional<RecordSet> existing = txt(z, fqdn);
    Set<String> values = new LinkedHashSet<>();
    existing.ifPresent(rr -> values.addAll(rr.getRecords()));
    values.add(RecordText.txt(value));
    apply(z, existing, Optional.of(rrset(fqdn, values, existing)), "adding TXT " + fqdn);
  }

  @Override
  public synchronized void cleanUp(String zone, String fqdn, String value) throws DnsException {
    String z = zoneName(zone);
    Optional<RecordSet> existing = txt(z, fqdn);
    if (existing.isEmpty()) {
      return;
    }
    Set<String> values = new LinkedHashSet<>(existing.get().getRecords());
    if (values.remove(RecordText.txt(value))) {
      apply(z, existing, values.isEmpty() ? Optional.empty() : Optional.of(rrset(fqdn, values, existing)),
          "removing TXT " + fqdn);
    }
  }

  private Optional<RecordSet> txt(String zoneName, String fqdn) throws DnsException {
    try {
      for (RecordSet rr : dns.listRecordSets(zoneName, Dns.RecordSetListOption.dnsName(RecordText.absolute(fqdn)),
          Dns.RecordSetListOption.type(RecordSet.Type.TXT)).iterateAll()) {
        if (rr.getType() == RecordSet.Type.TXT && RecordText.absolute(rr.getName()).equalsIgnoreCase(RecordText.absolute(fqdn))) {
          return Optional.of(rr);
        }
      }
      return Optional.empty();
    } catch (com.google.cloud.dns.DnsException e) {
      throw new DnsException(describe() + ": listing TXT " + fqdn + ": " + e.getMessage(), e);
    }
  }

  private void apply(String zoneName, Optional<RecordSet> delete, Optional<RecordSet> add, String what)
      throws DnsException {
    ChangeRequestInfo.Builder c = ChangeRequestInfo.newBuilder();
    delete.ifPresent(c::delete);
    add.ifPresent(c::add);
    try {
      dns.applyChangeRequest(zoneName, c.build());
    } catch (com.google.cloud.dns.DnsException e) {
      throw new DnsException(describe() + ": " + what + ": " + e.getMessage(), e);
    }
  }

  private String zoneName(String zone) throws DnsException {
    if (!hostedZoneName.isEmpty()) {
      return hostedZoneName;
    }
    try {
      for (Zone z : dns.listZones(Dns.ZoneListOption.dnsName(RecordText.absolute(zone))).iterateAll()) {
        if (RecordText.absolute(z.getDnsName()).equalsIgnoreCase(RecordText.absolute(zone))) {
          return z.getName();
        }
      }
    } catch (com.google.cloud.dns.DnsException e) {
      throw new DnsException(describe() + ": finding the managed zone of " + zone + ": " + e.getMessage(), e);
    }
    throw new DnsException(describe() + ": no managed zone " + zone + " (expected: the zone the SOA walk found, or "
        + "cloudDNS.hostedZoneName)");
  }

  private static RecordSet rrset(String fqdn, Set<String> values, Optional<RecordSet> existing) {
    List<String> records = new ArrayList<>(values);
    return RecordSet.newBuilder(RecordText.absolute(fqdn), RecordSet.Type.TXT).setRecords(records).setTtl(existing.map(
        RecordSet::getTtl).orElse(TTL), TimeUnit.SECONDS).build();
  }



  @Override
  public String describe() {
    return "clouddns project " + project;
  }
}
