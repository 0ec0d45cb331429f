#include "idp/http/url_policy.h"

#include <gtest/gtest.h>

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
