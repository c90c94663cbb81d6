package io.portcullis.dns;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Map;

/**
 * acme-dns (joohoi/acme-dns): {@code POST /update} with {@code X-Api-User} / {@code X-Api-Key} and
 * {@code {"subdomain", "txt"}} for the account registered for the name. The user has pointed
 * {@code _acme-challenge.<name>} at the account's {@code fulldomain} with a CNAME, which propagation checks follow.
 * acme-dns keeps the two latest values per subdomain (enough for apex + wildcard) and has no delete: clean-up does
 * nothing.
 */
public final class AcmeDnsProvider implements DnsProvider {
  private final String host;
  private final JsonNode accounts;
  private final Duration timeout;

  /**
   * @param host the server URL ({@code acmeDNS.host})
   * @param accounts the accounts JSON ({@code accountSecretRef}): domain to {@code username}, {@code password},
   *     {@code subdomain}, {@code fulldomain}
   * @throws IllegalArgumentException when {@code accounts} is not a JSON object
   */
  public AcmeDnsProvider(String host, String accounts, Duration timeout) {
    this.host = host.replaceAll("/+$", "");
    this.timeout = timeout;
    try {
      this.accounts = RestClient.JSON.readTree(accounts);
    } catch (Exception e) {
      throw new IllegalArgumentException("not JSON (expected: acme-dns accounts by domain, as acme-dns-client "
          + "writes them)");
    }
    if (!this.accounts.isObject()) {
      throw new IllegalArgumentException("not a JSON object (expected: acme-dns accounts by domain)");
    }
  }

  @Override
  public void present(String zone, String fqdn, String value) throws DnsException {
    String domain = fqdn.replaceFirst("^_acme-challenge\\.", "").replaceAll("\\.$", "");
    JsonNode a = accounts.has(domain) ? accounts.get(domain) : accounts.get("*." + domain);
    if (a == null) {
      throw new DnsException(describe() + ": no account for " + domain + " in the accounts Secret (expected: a key "
          + domain + " with username, password, subdomain, fulldomain)");
    }
    new RestClient(describe(), timeout, Map.of("X-Api-User", a.path("username").asText(), "X-Api-Key",
        a.path("password").asText())).send("POST", host + "/update", Map.of("subdomain", a.path("subdomain")
        .asText(), "txt", value));
  }

  @Override
  public void cleanUp(String zone, String fqdn, String value) {
    // acme-dns has no delete; its two-value ring drops old values by itself.
  }

  @Override
  public String describe() {
    return "acme-dns " + host;
  }
}
