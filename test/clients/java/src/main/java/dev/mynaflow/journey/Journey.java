package dev.mynaflow.journey;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mynaflow.client.ApiClient;
import dev.mynaflow.client.api.PayrollApi;
import dev.mynaflow.client.model.IssueConnectorToken200Response;
import dev.mynaflow.client.model.NumberPullRequest;
import dev.mynaflow.client.model.NumberPullResult;
import dev.mynaflow.client.model.PulledPerson;
import dev.mynaflow.client.model.Purpose;
import dev.mynaflow.client.model.RegistrantListItem;
import dev.mynaflow.client.model.RegistrantSyncItem;
import dev.mynaflow.client.model.RegistrantSyncRequest;
import dev.mynaflow.client.model.RegistrantSyncResult;
import java.io.BufferedReader;
import java.io.StringReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A payroll vendor's connector journey with the Java client generated from openapi/openapi.yaml by
 * openapi-generator (library "native"), unmodified (test/generated-clients.test.ts builds and runs
 * it): token → list → sync twice under one Idempotency-Key → numbers as JSON and as Shift_JIS CSV
 * (decoded strictly as CP932) → a webhook signature. Reads the same JSON on stdin as the Python
 * journey; writes what it saw on stdout, never a number.
 */
public final class Journey {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    JsonNode given = JSON.readTree(System.in);
    Map<String, Object> out = new LinkedHashMap<>();
    String base = given.get("baseUrl").asText();

    // 1. The token: client credentials, form-encoded by the generated code.
    ApiClient anonymous = new ApiClient();
    anonymous.updateBaseUri(base);
    IssueConnectorToken200Response token = new PayrollApi(anonymous).issueConnectorToken("client_credentials", given.get("clientId").asText(), given.get("clientSecret").asText(), null);
    out.put("tokenType", token.getTokenType().getValue());

    ApiClient client = new ApiClient();
    client.updateBaseUri(base);
    client.setRequestInterceptor(b -> b.header("Authorization", "Bearer " + token.getAccessToken()));
    PayrollApi payroll = new PayrollApi(client);

    // 2. The list, parsed into typed models.
    List<String> codes = new ArrayList<>();
    for (RegistrantListItem item : payroll.listRegistrants(null, null, null, null, null, null, null, null, null, null, null, null, null, null, 100, null).getItems()) {
      if (item.getEmployeeCode() != null) codes.add(item.getEmployeeCode());
    }
    codes.sort(null);
    out.put("listedCodes", codes);

    // 3. The employee master, twice under one key: one person, the same answer.
    String key = UUID.randomUUID().toString();
    RegistrantSyncRequest body = new RegistrantSyncRequest().items(List.of(new RegistrantSyncItem().employeeCode(given.get("syncCode").asText()).familyName("連携").givenName("同期")));
    RegistrantSyncResult first = payroll.syncRegistrants(body, key);
    RegistrantSyncResult again = payroll.syncRegistrants(body, key);
    Map<String, Object> sync = new LinkedHashMap<>();
    sync.put("created", first.getCreated());
    sync.put("againCreated", again.getCreated());
    sync.put("sameAnswer", JSON.writeValueAsString(first).equals(JSON.writeValueAsString(again)));
    out.put("sync", sync);

    // 4. Numbers as JSON.
    Map<String, String> expected = new TreeMap<>();
    given.get("expected").fields().forEachRemaining(e -> expected.put(e.getKey(), e.getValue().asText()));
    NumberPullRequest pull = new NumberPullRequest().purpose(Purpose.WITHHOLDING_SLIP).employeeCodes(new ArrayList<>(expected.keySet()));
    NumberPullResult pulled = payroll.pullNumbers(pull, null);
    Map<String, String> served = new TreeMap<>();
    for (PulledPerson p : pulled.getServed()) served.put(p.getEmployeeCode(), p.getMyNumber());
    out.put("json", Map.of("served", served.size(), "matches", served.equals(expected)));

    // 5. The same as Shift_JIS CSV, through the generated client's own HttpClient and mapper, decoded strictly as CP932.
    HttpRequest.Builder csvRequest = HttpRequest.newBuilder(URI.create(base + "/v1/numbers/pull"))
        .header("Content-Type", "application/json").header("Accept", "text/csv")
        .POST(HttpRequest.BodyPublishers.ofString(client.getObjectMapper().writeValueAsString(pull)));
    client.getRequestInterceptor().accept(csvRequest);
    HttpResponse<byte[]> csv = client.getHttpClient().send(csvRequest.build(), HttpResponse.BodyHandlers.ofByteArray());
    String text = strictCp932(csv.body());
    Map<String, String> fromCsv = new TreeMap<>();
    int rows = 0;
    try (BufferedReader lines = new BufferedReader(new StringReader(text))) {
      List<String> header = cells(lines.readLine());
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        if (line.isEmpty()) continue;
        rows++;
        List<String> cells = cells(line);
        if (cells.get(header.indexOf("本人・扶養")).equals("本人")) fromCsv.put(cells.get(header.indexOf("社員コード")), cells.get(header.indexOf("マイナンバー")));
      }
    }
    Map<String, Object> csvOut = new LinkedHashMap<>();
    csvOut.put("contentType", csv.headers().firstValue("content-type").orElse(""));
    csvOut.put("rows", rows);
    csvOut.put("matches", fromCsv.equals(expected));
    csvOut.put("crlf", text.contains("\r\n"));
    out.put("csv", csvOut);

    // 6. The webhook delivery's signature, and a tampered body refused.
    JsonNode hook = given.get("webhook");
    String secret = hook.get("secret").asText();
    String signature = hook.get("signature").asText();
    String delivered = hook.get("body").asText();
    out.put("webhook", Map.of("valid", verify(secret, signature, delivered), "tamperedRefused", !verify(secret, signature, delivered + " ")));

    System.out.print(JSON.writeValueAsString(out));
  }

  /** mynaflow-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the webhook's secret>. */
  static boolean verify(String secret, String header, String body) throws Exception {
    Map<String, String> parts = new HashMap<>();
    for (String p : header.split(",")) {
      String[] kv = p.split("=", 2);
      if (kv.length == 2) parts.put(kv[0], kv[1]);
    }
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    byte[] expected = mac.doFinal((parts.get("t") + "." + body).getBytes(StandardCharsets.UTF_8));
    StringBuilder hex = new StringBuilder();
    for (byte b : expected) hex.append(String.format("%02x", b));
    return MessageDigest.isEqual(hex.toString().getBytes(StandardCharsets.US_ASCII), String.valueOf(parts.get("v1")).getBytes(StandardCharsets.US_ASCII));
  }

  /** One CSV line's cells (RFC 4180 quoting; this journey's values hold no comma or line break). */
  static List<String> cells(String line) {
    List<String> out = new ArrayList<>();
    for (String cell : line.split(",", -1)) out.add(cell.length() >= 2 && cell.startsWith("\"") && cell.endsWith("\"") ? cell.substring(1, cell.length() - 1).replace("\"\"", "\"") : cell);
    return out;
  }

  static String strictCp932(byte[] bytes) throws CharacterCodingException {
    return Charset.forName("windows-31j").newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
  }
}
