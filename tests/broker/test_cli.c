/* flatline-broker's command line: --help, exit codes, listeners. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

#define BROKER FLATLINE_BINARY_DIR "/flatline-broker"

static broker_proc broker;
static child kid;
static void fini(void)
{
    child_cleanup(&kid);
    broker_free(&broker);
}
TestSuite(cli, .fini = fini, .timeout = 60);

static int run(char *const argv[], char **out)
{
    child_start(&kid, argv);
    cr_assert(child_wait(&kid, 10000), "%s hung", argv[1]);
    *out = child_output(&kid);
    child_cleanup(&kid); /* reaped: removes its output file before kid is reused */
    cr_assert(WIFEXITED(kid.status));
    return WEXITSTATUS(kid.status);
}

Test(cli, help)
{
    char *out, *argv[] = { BROKER, "--help", NULL };
    cr_assert_eq(run(argv, &out), 0);
    cr_assert(strstr(out, "--listen") && strstr(out, "--tcp-keepalive"), "%s", out);
    free(out);
}

Test(cli, bad_usage_exits_2_naming_the_flag)
{
    char *out, *argv[] = { BROKER, "--listen", "127.0.0.1:0", "--grace", "fast", NULL };
    cr_assert_eq(run(argv, &out), 2);
    cr_assert(strstr(out, "--grace"), "%s", out);
    free(out);
    char *argv2[] = { BROKER, NULL };
    cr_assert_eq(run(argv2, &out), 2);
    cr_assert(strstr(out, "--listen"), "%s", out);
    free(out);
}

Test(cli, bad_config_exits_2_naming_the_field)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/flatline-broker-cli-%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs("{\"listen\":[\"127.0.0.1:0\"],\"duplicate_client_id\":\"maybe\"}", f);
    fclose(f);
    char *out, *argv[] = { BROKER, "--config", path, NULL };
    int rc = run(argv, &out);
    unlink(path);
    cr_assert_eq(rc, 2);
    cr_assert(strstr(out, "duplicate_client_id"), "%s", out);
    free(out);
}

Test(cli, cannot_listen_exits_3)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET };
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    listen(fd, 1);
    socklen_t sl = sizeof sin;
    getsockname(fd, (struct sockaddr *)&sin, &sl);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(sin.sin_port));
    char *out, *argv[] = { BROKER, "--listen", addr, NULL };
    cr_assert_eq(run(argv, &out), 3);
    cr_assert(strstr(out, addr), "%s", out);
    free(out);
    close(fd);
    char *argv2[] = { BROKER, "--listen", "192.0.2.1:0", NULL }; /* not an address of this host */
    cr_assert_eq(run(argv2, &out), 3);
    free(out);
}

Test(cli, ipv4_and_ipv6_listeners)
{
    char *extra[] = { "--listen", "[::1]:0", "--tcp-keepalive", "go-default", "--tcp-user-timeout-ms", "5000", NULL };
    broker_start(&broker, extra);
    json_t *ev = broker_event(&broker, "listening", NULL, NULL, 1);
    cr_assert_not_null(ev, "no second listener");
    const char *addr = json_string_value(json_object_get(ev, "addr"));
    cr_assert(strncmp(addr, "[::1]:", 6) == 0 && atoi(addr + 6) > 0, "%s", addr);
    cr_assert_eq(json_integer_value(json_object_get(ev, "tcp_user_timeout_ms")), 5000);
    char port[8];
    snprintf(port, sizeof port, "%s", addr + 6);
    json_decref(ev);
    char *argv[] = { "mosquitto_pub", "-h", "::1", "-p", port, "-t", "a", "-m", "v6", NULL };
    child_start(&kid, argv);
    cr_assert(child_wait(&kid, 10000));
    cr_assert(WIFEXITED(kid.status) && WEXITSTATUS(kid.status) == 0);
    ev = broker_wait_event(&broker, "accept", NULL, NULL, 2000);
    cr_assert_not_null(ev);
    cr_assert(strncmp(json_string_value(json_object_get(ev, "conn")), "[::1]:", 6) == 0);
    json_decref(ev);
    broker_stop(&broker);
}
