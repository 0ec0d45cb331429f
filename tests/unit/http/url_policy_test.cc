#include "idp/http/url_policy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

namespace idp::http {
namespace {

TEST(UrlPolicy, LoopbackHostsAreExactlyLocalhost127AndV6One) {
  for (const char* h : {"localhost", "LOCALHOST", "LocalHost", "127.0.0.1", "127.1.2.3",
                        "127.255.255.255", "[::1]", "::1", "[0:0:0:0:0:0:0:1]"}) {
    EXPECT_TRUE(is_loopback_host(h)) << h;
  }
  for (const char* h : {"127.attacker.example",
                        "localhost.attacker.example",
                        "localhost.",
                        "127.0.0.1.",
                        "127.0.0.1.nip.io",
                        "2130706433",
                        "0x7f000001",
                        "0177.0.0.1",
                        "127.1",
                        "127.0.0.01",
                        "[::ffff:127.0.0.1]",
                        "::ffff:127.0.0.1",
                        "[::2]",
                        "128.0.0.1",
                        "10.0.0.1",
                        "attacker.example",
                        "",
                        "127.0.0.256",
                        "xlocalhost",
                        "[::1"}) {
    EXPECT_FALSE(is_loopback_host(h)) << h;
  }
}

TEST(UrlPolicy, HttpsAlwaysHttpOnlyOnLoopback) {
  EXPECT_TRUE(check_url("https://mcp.example.com/mcp"));
  EXPECT_TRUE(check_url("HTTPS://mcp.example.com/mcp"));
  EXPECT_TRUE(check_url("http://localhost:8080/mcp"));
  EXPECT_TRUE(check_url("http://127.0.0.1:9/mcp"));
  EXPECT_TRUE(check_url("http://[::1]:9/mcp"));
  auto ok = check_url("http://[::1]:9/mcp");
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->loopback);
  EXPECT_EQ(ok->port, 9);
  EXPECT_EQ(ok->host, "[::1]");
  for (const char* u :
       {"http://127.attacker.example/mcp", "http://localhost.attacker.example/keys",
        "http://127.0.0.1.nip.io/mcp", "http://2130706433/mcp", "http://0x7f000001/mcp",
        "http://[::ffff:127.0.0.1]/mcp", "http://localhost./mcp", "http://example.com/mcp"}) {
    auto r = check_url(u, "mcp_url");
    ASSERT_FALSE(r) << u;
    EXPECT_NE(r.error().message().find("mcp_url"), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("https://"), std::string::npos) << r.error().message();
  }
}

TEST(UrlPolicy, UserinfoIsRefusedAndNotEchoed) {
  for (const char* u :
       {"http://127.0.0.1@attacker.example/keys", "https://user:hunter2@mcp.example.com/mcp",
        "http://localhost:80@attacker.example/"}) {
    auto r = check_url(u, "JWKS URL");
    ASSERT_FALSE(r) << u;
    EXPECT_EQ(r.error().message().find("hunter2"), std::string::npos);
    EXPECT_NE(r.error().message().find("user info"), std::string::npos);
  }
}

TEST(UrlPolicy, MessagesNameTheSettingNotTheUrl) {
  auto r = check_url("http://mcp.example.com/mcp?token=Sup3rSecret", "mcp_url");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "mcp_url must use https:// (got http:// to mcp.example.com; plain http:// is allowed "
            "only for loopback hosts: localhost, 127.0.0.0/8, [::1])");
  auto garbage = check_url("not a url?token=Sup3rSecret", "JWKS URL");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().message(),
            "JWKS URL is not a valid absolute URL (expected https://host/path)");
  auto port = check_url("https://mcp.example.com:0/mcp", "mcp_url");
  ASSERT_FALSE(port);
  EXPECT_EQ(port.error().message(), "mcp_url has an invalid port '0'");
}

TEST(UrlPolicy, ExtraPlainHttpHostsAreExact) {
  constexpr std::string_view kAgents[] = {"169.254.170.2", "[fd00:ec2::23]"};
  EXPECT_TRUE(check_url("http://169.254.170.2/v2/credentials", "URL", kAgents));
  EXPECT_TRUE(check_url("http://[FD00:EC2::23]/creds", "URL", kAgents));
  EXPECT_TRUE(check_url("http://127.0.0.1:9/creds", "URL", kAgents));
  for (const char* u : {"http://169.254.170.2.nip.io/x", "http://169.254.170.3/x",
                        "http://169.254.170.2@attacker.example/x", "http://fd00:ec2::23/x"}) {
    EXPECT_FALSE(check_url(u, "URL", kAgents)) << u;
  }
}

TEST(UrlPolicy, LinkLocalAndMetadataHostsInEverySpelling) {
  struct Case {
    const char* host;
    const char* says;  // in the reason
  };
  for (const Case& c : std::initializer_list<Case>{
           {"169.254.169.254", "169.254.169.254, the cloud instance metadata address"},
           {"2852039166", "169.254.169.254, the cloud instance metadata"},       // one number
           {"0xa9fea9fe", "169.254.169.254, the cloud instance metadata"},       // hex
           {"0251.0376.0251.0376", "169.254.169.254, the cloud instance"},       // octal
           {"169.254.43518", "169.254.169.254, the cloud instance metadata"},    // three parts
           {"0xA9.0xFE.0xA9.0xFE", "169.254.169.254, the cloud instance"},
           {"169.254.169.254.", "169.254.169.254, the cloud instance metadata"},  // trailing dot
           {"169.254.0.1", "169.254.0.1, a link-local address (169.254.0.0/16)"},
           {"169.254.170.2", "the AWS ECS container credentials agent"},
           {"169.254.170.23", "the AWS EKS Pod Identity agent"},
           {"100.100.100.200", "Alibaba Cloud"},
           {"168.63.129.16", "Azure platform address"},
           {"[::ffff:169.254.169.254]", "(169.254.169.254, the cloud instance metadata"},
           {"::ffff:a9fe:a9fe", "(169.254.169.254, the cloud instance metadata"},
           {"[64:ff9b::169.254.169.254]", "(169.254.169.254"},
           {"[::169.254.169.254]", "(169.254.169.254"},
           {"[fe80::1]", "a link-local IPv6 address (fe80::/10)"},
           {"[FEBF:ffff::1]", "a link-local IPv6 address"},
           {"fe80::1%eth0", "a link-local IPv6 address"},
           {"[fd00:ec2::254]", "the AWS instance metadata address (IPv6)"},
           {"[FD00:EC2:0::254]", "the AWS instance metadata address (IPv6)"},
           {"[fd00:ec2::23]", "the AWS EKS Pod Identity agent (IPv6)"},
           {"metadata.google.internal", "a cloud instance metadata host name"},
           {"Metadata.Google.Internal.", "a cloud instance metadata host name"},
           {"metadata.goog", "metadata host name"},
           {"metadata", "metadata host name"},
           {"instance-data", "metadata host name"},
           {"metadata.tencentyun.com", "metadata host name"},
       }) {
    auto why = link_local_reason(c.host);
    ASSERT_TRUE(why.has_value()) << c.host;
    EXPECT_NE(why->find(c.says), std::string::npos) << c.host << ": " << *why;
  }
  for (const char* h : {"169.253.255.255", "169.255.0.1", "170.254.169.254", "10.0.0.1",
                        "127.0.0.1", "localhost", "[::1]", "[fec0::1]", "[fe7f::1]", "[fd00:ec2::1:254]",
                        "[::ffff:10.0.0.1]", "mcp.example.com", "metadata.google.internal.evil.example",
                        "169.254.169.254.nip.io", "2852039166x", "0x", "169.254.169.254.1",
                        "4294967296", "256.254.169.254", "08.1.1.1", "100.100.100.201", ""}) {
    EXPECT_FALSE(link_local_reason(h).has_value()) << h << ": " << link_local_reason(h).value_or("");
  }
}

TEST(UrlPolicy, NumericHostsAreReadAsTheSystemResolverReadsThem) {
  // inet_aton is what getaddrinfo uses for numeric hosts: every spelling it reads as
  // 169.254.x.y is link-local for the policy too, and nothing it rejects is read as a number.
  for (const char* h : {"169.254.1.2", "0xa9fe0102", "2852061442", "0251.0376.01.02", "169.0xfe.258",
                        "169.16646402", "0xa9.0376.0x1.2", "169.254.1.2.3", "169.254.1.256",
                        "0x1ffffffff", "09.1.1.1", "1..2", ".1.2.3", "0xg", "169.254.1.2 "}) {
    in_addr a{};
    const bool aton = inet_aton(h, &a) == 1 && std::string(h).find(' ') == std::string::npos;
    const bool link_local = aton && (ntohl(a.s_addr) >> 16) == 0xa9fe;
    EXPECT_EQ(link_local_reason(h).has_value(), link_local) << h;
  }
}

TEST(UrlPolicy, LinkLocalUrlsAreRefusedUnlessAllowed) {
  EXPECT_FALSE(check_url("http://169.254.169.254/latest/meta-data/", "mcp_url"));
  for (const char* u : {"https://169.254.169.254/latest/meta-data/", "https://169.254.169.254:8443/x",
                        "https://2852039166/x", "https://[::ffff:169.254.169.254]/x",
                        "https://[fe80::1]/mcp", "https://metadata.google.internal/computeMetadata/v1/",
                        "https://[fd00:ec2::254]/latest", "https://100.100.100.200/latest"}) {
    auto r = check_url(u, "mcp_url");
    ASSERT_FALSE(r) << u;
    EXPECT_NE(r.error().message().find("mcp_url points at "), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("link-local and cloud metadata addresses are refused"),
              std::string::npos)
        << r.error().message();
    EXPECT_TRUE(check_url(u, "mcp_url", UrlRules{.allow_link_local = true})) << u;
  }
  auto r = check_url("https://169.254.169.254/?token=Sup3rSecret", "mcp_url");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "mcp_url points at 169.254.169.254, the cloud instance metadata address (AWS, Azure, "
            "Google Cloud, Oracle Cloud, OpenStack and others); link-local and cloud metadata "
            "addresses are refused (they reach the machine's own cloud credentials, not a server)");
  // Allowed still means https:// (or a listed plain-http host).
  EXPECT_FALSE(check_url("http://169.254.10.10/mcp", "mcp_url", UrlRules{.allow_link_local = true}));
  // A listed host is allowed whatever it is.
  constexpr std::string_view kAgents[] = {"169.254.170.2"};
  EXPECT_TRUE(check_url("http://169.254.170.2/creds", "URL", kAgents));
  EXPECT_FALSE(check_url("http://169.254.169.254/creds", "URL", kAgents));
}

TEST(UrlPolicy, OtherSchemesAndGarbage) {
  EXPECT_FALSE(check_url("ftp://localhost/x"));
  EXPECT_FALSE(check_url("file:///etc/passwd"));
  EXPECT_FALSE(check_url("not a url"));
  EXPECT_FALSE(check_url("/relative/path"));
  EXPECT_FALSE(check_url("https:///nohost"));
}

TEST(UrlPolicy, AuthorityHostAndOrigins) {
  EXPECT_EQ(authority_host("localhost:8080"), "localhost");
  EXPECT_EQ(authority_host("[::1]:8080"), "[::1]");
  EXPECT_EQ(authority_host("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(authority_host("[::1]x"), "");
  EXPECT_TRUE(is_loopback_origin("http://localhost:3000"));
  EXPECT_TRUE(is_loopback_origin("http://[::1]:3000"));
  EXPECT_FALSE(is_loopback_origin("http://localhost.attacker.example"));
  EXPECT_FALSE(is_loopback_origin("http://127.0.0.1@attacker.example"));
  EXPECT_FALSE(is_loopback_origin("null"));
  EXPECT_FALSE(is_loopback_origin("http://127.0.0.1.nip.io"));
}

}  // namespace
}  // namespace idp::http
