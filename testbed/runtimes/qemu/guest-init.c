/* /init of the micro uTNT guest (the guest kernel of scripts/build-guest-kernel.sh): no shell,
 * no busybox; packed by scripts/build-vm-image.sh, linked against the C library the guest's
 * Python already carries.
 *
 * Kernel command line, the uTNT paper's convention (the kernel hands what follows `--` to
 * /init as its arguments):
 *   netdev.ipv4_addr=A netdev.ipv4_gw_addr=G netdev.ipv4_subnet_mask=M -- utnt <uTNT options>
 * uTNT runs on a packet socket on eth0 with its own address and MAC stack (the guest kernel
 * holds no address): /init brings lo and eth0 up, reads eth0's MAC, turns the mask into a
 * prefix length and starts `python3 -m utnt.cli --iface eth0 --ip A/P --gw G --mac MAC --json`
 * at once. Results go to the 9p share tagged fs0 (mounted on /out): result.json, stderr.txt,
 * status (uTNT's exit status); without the share they go to the console. Then the guest
 * reboots, which with `reboot=t` and QEMU's -no-reboot ends QEMU with status 0 (the kernel has
 * no ACPI to power off with).
 * The console lines `utnt-guest: init|start|result ... uptime=S` are what the runtime times.
 *
 * Warm start (`-- utnt-warm`, what the runtime snapshots once per image): /init brings lo and
 * eth0 up, starts Python, which imports uTNT and says it is ready on a pipe, prints
 * `utnt-guest: ready` and waits for one line on the serial port (ttyS0). The runtime saves the
 * VM there (QEMU migration to a file) and every event restores that file in a fresh QEMU and
 * writes the event's line on the serial port, in the same convention as the command line above
 * plus the lease's MAC: `netdev.ipv4_addr=A netdev.ipv4_gw_addr=G netdev.ipv4_subnet_mask=M
 * netdev.mac=MAC -- utnt <options>`. /init sets eth0's MAC, mounts the share (a mounted 9p
 * share would block the migration, so only now), hands Python its arguments and goes on as
 * above.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void say(const char *fmt, ...)
{
    char up[32] = "?";
    int fd = open("/proc/uptime", O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, up, sizeof up - 1);
        up[n > 0 ? n : 0] = 0;
        up[strcspn(up, " \n")] = 0;
        close(fd);
    }
    va_list ap;
    va_start(ap, fmt);
    printf("utnt-guest: ");
    vprintf(fmt, ap);
    printf(" uptime=%s\n", up);
    va_end(ap);
    fflush(stdout);
}

static void if_up(int s, const char *name)
{
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strncpy(r.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFFLAGS, &r) == 0) {
        r.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &r) == 0)
            return;
    }
    say("cannot bring %s up: %s", name, strerror(errno));
}

static void put(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        if (write(fd, text, strlen(text)) < 0)
            say("cannot write %s", path);
        close(fd);
    }
}

static void cat(const char *path)
{
    char buf[4096];
    int fd = open(path, O_RDONLY);
    ssize_t n;
    if (fd < 0)
        return;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (write(1, buf, n) < 0)
            break;
    close(fd);
}

static char addr[64], gw[64], mask[64], hw[32];

/* key=value tokens of the paper's convention up to `--`; what follows it into av (warm start) */
static int parse(char *line, char **av, int max)
{
    int n = 0, after = 0;
    for (char *t = strtok(line, " \n"); t; t = strtok(NULL, " \n")) {
        if (after) {
            if (n < max - 1)
                av[n++] = t;
        } else if (!strcmp(t, "--"))
            after = 1;
        else if (!strncmp(t, "netdev.ipv4_addr=", 17))
            snprintf(addr, sizeof addr, "%s", t + 17);
        else if (!strncmp(t, "netdev.ipv4_gw_addr=", 20))
            snprintf(gw, sizeof gw, "%s", t + 20);
        else if (!strncmp(t, "netdev.ipv4_subnet_mask=", 24))
            snprintf(mask, sizeof mask, "%s", t + 24);
        else if (!strncmp(t, "netdev.mac=", 11))
            snprintf(hw, sizeof hw, "%s", t + 11);
    }
    av[n] = NULL;
    return n;
}

static void set_mac(int s, const char *text)
{
    struct ifreq r;
    unsigned int b[6];
    if (sscanf(text, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
        say("bad netdev.mac=%s", text);
        return;
    }
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "eth0");
    r.ifr_hwaddr.sa_family = 1;     /* ARPHRD_ETHER */
    for (int i = 0; i < 6; i++)
        r.ifr_hwaddr.sa_data[i] = (char)b[i];
    if (ioctl(s, SIOCSIFHWADDR, &r) != 0)
        say("cannot set eth0's MAC: %s", strerror(errno));
}

/* Python of the warm start: uTNT imported before the snapshot; after it, the arguments on
 * stdin (NUL-separated: result file, stderr file, uTNT's options) */
static const char WARM[] =
    "import os, sys\n"
    "import utnt.cli as c, utnt.api, utnt.net, utnt.output\n"
    "c.build_parser()\n"
    "os.write(3, b'r'); os.close(3)\n"
    "a = sys.stdin.buffer.read().decode().split('\\0')\n"
    "for fd, p in ((1, a[0]), (2, a[1])):\n"
    "    os.dup2(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)\n"
    "sys.exit(c.main(a[2:]))\n";

static void end(void)
{
    sync();
    umount("/out");
    reboot(RB_AUTOBOOT);           /* reboot=t: a triple fault; QEMU -no-reboot exits 0 */
    reboot(RB_POWER_OFF);
    for (;;)
        pause();
}

int main(int argc, char **argv)
{
    static char cmd[4096], line[4096], ip[96], mac[32];
    static char *wav[256], *wargv[257] = {"/init"};
    char *env[] = {"PYTHONHOME=/usr", "PYTHONPATH=/app", "PYTHONDONTWRITEBYTECODE=1", "PATH=/usr/bin",
                   "LC_ALL=C.UTF-8", NULL};
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sys", "/sys", "sysfs", 0, NULL);
    mount("dev", "/dev", "devtmpfs", 0, NULL);        /* /dev/urandom: Python's hash seed */
    say("init");

    int fd = open("/proc/cmdline", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, cmd, sizeof cmd - 1) : 0;
    cmd[n > 0 ? n : 0] = 0;
    if (fd >= 0)
        close(fd);
    parse(cmd, wav, 2);              /* the program's arguments: argv (the kernel split them) */

    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if_up(s, "lo");
    if_up(s, "eth0");

    pid_t warm = -1;
    int warm_in = -1;
    if (argc >= 2 && strcmp(argv[1], "utnt-warm") == 0) {
        int cp[2], rp[2];
        char c;
        if (pipe(cp) != 0 || pipe(rp) != 0) {
            say("warm: no pipe");
            end();
        }
        warm = fork();
        if (warm == 0) {
            dup2(cp[0], 0);
            dup2(rp[1], 3);
            close(cp[0]);
            close(cp[1]);
            close(rp[0]);
            close(rp[1]);
            char *av[] = {"/usr/bin/python3", "-S", "-c", (char *)WARM, NULL};
            execve(av[0], av, env);
            _exit(127);
        }
        close(cp[0]);
        close(rp[1]);
        warm_in = cp[1];
        if (warm < 0 || read(rp[0], &c, 1) != 1) {
            say("warm: python did not start");
            end();
        }
        close(rp[0]);
        int tty = open("/dev/ttyS0", O_RDWR | O_NOCTTY);
        struct termios t;
        if (tty >= 0 && tcgetattr(tty, &t) == 0) {
            t.c_lflag &= ~(ECHO | ECHONL);
            t.c_lflag |= ICANON;
            tcsetattr(tty, TCSANOW, &t);
        }
        say("ready");
        size_t got = 0;
        while (tty >= 0 && got < sizeof line - 1) {
            ssize_t r = read(tty, line + got, sizeof line - 1 - got);
            if (r <= 0)
                break;
            got += r;
            if (memchr(line, '\n', got))
                break;
        }
        line[got] = 0;
        if (tty >= 0)
            close(tty);
        say("restored");
        argc = 1 + parse(line, wargv + 1, 256);
        argv = wargv;                /* argv[1..]: what followed `--` on the serial line */
        if (hw[0])
            set_mac(s, hw);
    }

    struct in_addr m;
    int prefix = 32;
    if (inet_pton(AF_INET, mask, &m) == 1)
        prefix = __builtin_popcount(m.s_addr);
    snprintf(ip, sizeof ip, "%s/%d", addr, prefix);

    const char *out = "/out";
    mkdir("/out", 0755);
    if (mount("fs0", "/out", "9p", 0, "trans=virtio,version=9p2000.L,msize=262144") != 0) {
        say("no 9p share fs0: results on the console only");
        out = "/tmp";
        mkdir("/tmp", 01777);
    }
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "eth0");
    if (ioctl(s, SIOCGIFHWADDR, &r) == 0) {
        unsigned char *h = (unsigned char *)r.ifr_hwaddr.sa_data;
        snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", h[0], h[1], h[2], h[3], h[4], h[5]);
    } else
        say("no eth0");
    close(s);
    say("net");

    char p_res[64], p_err[64], p_st[64], st[32];
    snprintf(p_res, sizeof p_res, "%s/result.json", out);
    snprintf(p_err, sizeof p_err, "%s/stderr.txt", out);
    snprintf(p_st, sizeof p_st, "%s/status", out);
    int status = 127;
    if (argc < 2 || strcmp(argv[1], "utnt") != 0) {
        put(p_err, "this guest runs utnt only: the kernel command line must end in -- utnt <options>\n");
        if (warm > 0) {
            close(warm_in);
            waitpid(warm, NULL, 0);
        }
    } else {
        /* python3 -S -m utnt.cli --iface eth0 --ip A/P --gw G --mac M --json <options> */
        char **av = calloc(argc + 16, sizeof *av);
        int k = 0;
        av[k++] = "/usr/bin/python3";
        av[k++] = "-S";
        av[k++] = "-m";
        av[k++] = "utnt.cli";
        int first = k;
        av[k++] = "--iface";
        av[k++] = "eth0";
        av[k++] = "--ip";
        av[k++] = ip;
        av[k++] = "--gw";
        av[k++] = gw;
        av[k++] = "--mac";
        av[k++] = mac;
        av[k++] = "--json";
        for (int i = 2; i < argc; i++)
            av[k++] = argv[i];
        av[k] = NULL;
        say("start");
        pid_t pid = warm;
        if (warm > 0) {
            /* the warm Python: result file, stderr file, then uTNT's options, NUL-separated */
            dprintf(warm_in, "%s%c%s", p_res, 0, p_err);
            for (int i = first; i < k; i++)
                dprintf(warm_in, "%c%s", 0, av[i]);
            close(warm_in);
        } else if ((pid = fork()) == 0) {
            int o = open(p_res, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            int e = open(p_err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (o >= 0)
                dup2(o, 1);
            if (e >= 0)
                dup2(e, 2);
            execve(av[0], av, env);
            _exit(127);
        }
        int w = 0;
        if (pid > 0 && waitpid(pid, &w, 0) == pid)
            status = WIFEXITED(w) ? WEXITSTATUS(w) : 128 + WTERMSIG(w);
    }
    snprintf(st, sizeof st, "%d\n", status);
    put(p_st, st);
    say("result status=%d", status);
    if (strcmp(out, "/tmp") == 0) {
        printf("----- utnt-guest output -----\n");
        fflush(stdout);
        cat(p_res);
        cat(p_err);
        printf("----- utnt-guest end -----\n");
        fflush(stdout);
    }
    end();
    return 0;
}
