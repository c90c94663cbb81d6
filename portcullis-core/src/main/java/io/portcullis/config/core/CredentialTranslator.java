package io.portcullis.config.core;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Secret;
import io.portcullis.config.FieldCheck;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.TranslationContext;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;

/**
 * Decodes the credential sources a Gateway's {@code tls} may name: v1 {@code Secret}s ({@code credentialName},
 * {@code credentialNames}, {@code caCertCredentialName}) and {@code ConfigMap}s ({@code caCertCredentialName}) into
 * {@link GatewayConfig.SecretData}, key to bytes. Which keys a credential needs is checked where it is loaded
 * ({@code tls.TlsContexts}); here only the encoding. No value is ever quoted in a problem.
 */
final class CredentialTranslator {
  private static final FieldCheck CONFIG_MAP_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**",
      "immutable", "data.*", "binaryData.*");
  // data.** and stringData.**: below a data key is a value of the wrong type (reported by convert, without it), and
  // never a field name worth quoting: it may be the key itself.
  private static final FieldCheck SECRET_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**", "type",
      "immutable", "data.**", "stringData.**");

  private CredentialTranslator() {}

  /** Keeps a Secret's {@code data} (base64) and {@code stringData} (which wins) under its {@code namespace/name}. */
  static void secret(Resource r, TranslationContext cx) {
    cx.unsupported(r, SECRET_FIELDS);
    Secret s = cx.convert(r, Secret.class);
    if (s != null) {
      cx.secrets().put(r.key(), new GatewayConfig.SecretData(r.key(), r.source().toString(),
          decode(r, "data", s.getData(), "stringData", s.getStringData(), cx)));
    }
  }

  /**
   * Keeps a ConfigMap's data among the credential sources under {@link GatewayConfig#CONFIG_MAP_PREFIX}: Istio's
   * {@code caCertCredentialName} may name one.
   */
  static void configMap(Resource r, TranslationContext cx) {
    cx.unsupported(r, CONFIG_MAP_FIELDS);
    ConfigMap m = cx.convert(r, ConfigMap.class);
    if (m != null) {
      String key = GatewayConfig.CONFIG_MAP_PREFIX + r.key();
      cx.secrets().put(key, new GatewayConfig.SecretData(key, r.source().toString(),
          decode(r, "binaryData", m.getBinaryData(), "data", m.getData(), cx)));
    }
  }

  /**
   * Merges a base64 map ({@code base64Field}) and a plain-text map ({@code textField}, which wins) into key to bytes;
   * a value that is not base64 is reported and left out.
   */
  private static Map<String, byte[]> decode(Resource r, String base64Field, Map<String, String> base64,
      String textField, Map<String, String> text, TranslationContext cx) {
    Map<String, byte[]> data = new TreeMap<>();
    if (base64 != null) {
      for (Map.Entry<String, String> e : base64.entrySet()) {
        try {
          data.put(e.getKey(), Base64.getMimeDecoder().decode(e.getValue() == null ? "" : e.getValue().trim()));
        } catch (IllegalArgumentException ex) {
          cx.problem(Severity.ERROR, r, base64Field + "." + e.getKey(), "not valid base64 (expected: base64 of the "
              + "value; use " + textField + " for plain text)");
        }
      }
    }
    if (text != null) {
      text.forEach((k, v) -> data.put(k, (v == null ? "" : v).getBytes(StandardCharsets.UTF_8)));
    }
    return data;
  }
}
