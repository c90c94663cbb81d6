package io.portcullis.dns;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.route53.Route53Client;
import software.amazon.awssdk.services.route53.Route53ClientBuilder;
import software.amazon.awssdk.services.route53.model.Change;
import software.amazon.awssdk.services.route53.model.ChangeAction;
import software.amazon.awssdk.services.route53.model.HostedZone;
import software.amazon.awssdk.services.route53.model.ResourceRecord;
import software.amazon.awssdk.services.route53.model.ResourceRecordSet;
import software.amazon.awssdk.services.route53.model.RRType;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.auth.StsAssumeRoleCredentialsProvider;

/**
 * AWS Route 53 through the AWS SDK for Java v2 (JDK HTTP client): the hosted zone is {@code hostedZoneID} or found
 * with {@code ListHostedZonesByName}; a TXT value is added by reading the RRset ({@code ListResourceRecordSets}) and
 * {@code UPSERT}ing it with the value added (Route 53 replaces whole RRsets), removed the same way, or with
 * {@code DELETE} when no value is left. Calls of one provider are serialized.
 */
public final class Route53Provider implements DnsProvider {
  private static final long TTL = 60;
  private final Route53Client client;
  private final String hostedZoneId;

  /**
   * @param region {@code route53.region} (the STS region for {@code role}); empty for {@code us-east-1}
   * @param hostedZoneId {@code hostedZoneID}, or empty to look the zone up by name
   * @param keys an access key id and secret access key, or empty for the SDK's default credential chain
   * @param role an IAM role ARN to assume with those credentials, or empty
   * @param endpoint the API endpoint, or empty for AWS's (a test's server otherwise)
   */
  public Route53Provider(String region, String hostedZoneId, Optional<AwsBasicCredentials> keys, String role,
      Optional<URI> endpoint, Duration timeout) {
    this.hostedZoneId = hostedZoneId.replaceFirst("^/?hostedzone/", "");
    Region r = Region.of(region.isEmpty() ? "us-east-1" : region);
    AwsCredentialsProvider creds = keys.<AwsCredentialsProvider>map(StaticCredentialsProvider::create)
        .orElseGet(() -> DefaultCredentialsProvider.builder().build());
    if (!role.isEmpty()) {
      StsClient sts = StsClient.builder().region(r).credentialsProvider(creds).httpClient(UrlConnectionHttpClient
          .builder().connectionTimeout(timeout).socketTimeout(timeout).build()).build();
      creds = StsAssumeRoleCredentialsProvider.builder().stsClient(sts).refreshRequest(b -> b.roleArn(role)
          .roleSessionName("portcullis")).build();
    }
    // Route 53 is global: any region of the partition gets its one endpoint, signed for us-east-1 (cn-* for China).
    Route53ClientBuilder b = Route53Client.builder().region(r).credentialsProvider(creds)
        .httpClient(UrlConnectionHttpClient.builder().connectionTimeout(timeout).socketTimeout(timeout).build());
    endpoint.ifPresent(b::endpointOverride);
    this.client = b.build();
  }

  @Override
  public synchronized void present(String zone, String fqdn, String value) throws DnsException {
    String zoneId = zoneId(zone);
    Optional<ResourceRecordSet> existing = txt(zoneId, fqdn);
    Set<String> values = new LinkedHashSet<>();
    existing.ifPresent(rr -> rr.resourceRecords().forEach(x -> values.add(x.value())));
    values.add(RecordText.txt(value));
    change(zoneId, ChangeAction.UPSERT, rrset(fqdn, values, existing.map(ResourceRecordSet::ttl).orElse(TTL)),
        "adding TXT " + fqdn);
  }

  @Override
  public synchronized void cleanUp(String zone, String fqdn, String value) throws DnsException {
    String zoneId = zoneId(zone);
    Optional<ResourceRecordSet> existing = txt(zoneId, fqdn);
    if (existing.isEmpty()) {
      return;
    }
    Set<String> values = new LinkedHashSet<>();
    existing.get().resourceRecords().forEach(x -> values.add(x.value()));
    if (!values.remove(RecordText.txt(value))) {
      return;
    }
    if (values.isEmpty()) {
      change(zoneId, ChangeAction.DELETE, existing.get(), "deleting TXT " + fqdn);
    } else {
      change(zoneId, ChangeAction.UPSERT, rrset(fqdn, values, existing.get().ttl()), "removing a TXT value at "
          + fqdn);
    }
  }

  private Optional<ResourceRecordSet> txt(String zoneId, String fqdn) throws DnsException {
    try {
      return client.listResourceRecordSets(b -> b.hostedZoneId(zoneId).startRecordName(RecordText.absolute(fqdn))
          .startRecordType(RRType.TXT).maxItems("1")).resourceRecordSets().stream()
          .filter(rr -> rr.type() == RRType.TXT && RecordText.absolute(rr.name()).equalsIgnoreCase(RecordText.absolute(fqdn)))
          .findFirst();
    } catch (SdkException e) {
      throw new DnsException(describe() + ": listing TXT " + fqdn + ": " + e.getMessage(), e);
    }
  }

  private void change(String zoneId, ChangeAction action, ResourceRecordSet rrset, String what) throws DnsException {
    try {
      client.changeResourceRecordSets(b -> b.hostedZoneId(zoneId).changeBatch(c -> c.comment("portcullis DNS-01")
          .changes(Change.builder().action(action).resourceRecordSet(rrset).build())));
    } catch (SdkException e) {
      throw new DnsException(describe() + ": " + what + ": " + e.getMessage(), e);
    }
  }

  private String zoneId(String zone) throws DnsException {
    if (!hostedZoneId.isEmpty()) {
      return hostedZoneId;
    }
    try {
      List<HostedZone> zones = client.listHostedZonesByName(b -> b.dnsName(RecordText.absolute(zone))).hostedZones();
      for (HostedZone z : zones) {
        if (RecordText.absolute(z.name()).equalsIgnoreCase(RecordText.absolute(zone)) && (z.config() == null
            || !Boolean.TRUE.equals(z.config().privateZone()))) {
          return z.id().replaceFirst("^/?hostedzone/", "");
        }
      }
    } catch (SdkException e) {
      throw new DnsException(describe() + ": finding the hosted zone of " + zone + ": " + e.getMessage(), e);
    }
    throw new DnsException(describe() + ": no public hosted zone " + zone + " (expected: the zone the SOA walk "
        + "found, or route53.hostedZoneID)");
  }

  private static ResourceRecordSet rrset(String fqdn, Set<String> values, long ttl) {
    List<ResourceRecord> records = new ArrayList<>();
    values.forEach(v -> records.add(ResourceRecord.builder().value(v).build()));
    return ResourceRecordSet.builder().name(RecordText.absolute(fqdn)).type(RRType.TXT).ttl(ttl).resourceRecords(records)
        .build();
  }



  @Override
  public String describe() {
    return "route53" + (hostedZoneId.isEmpty() ? "" : " zone " + hostedZoneId);
  }

  @Override
  public void close() {
    client.close();
  }
}
