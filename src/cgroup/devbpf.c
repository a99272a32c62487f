/*
 * cgroup v2 has no devices controller: which devices a group's tasks
 * may open is said by an eBPF program attached to the group
 * (BPF_CGROUP_DEVICE), as systemd's DeviceAllow= and container
 * runtimes do it. The one here lets every device in but the character
 * devices of one major whose minor is in a 64-bit mask: the GPUs a job
 * was not given. It is a handful of instructions written out here, so
 * that forqd needs neither a compiler of BPF nor libbpf.
 */
#include <sys/syscall.h>

#include <linux/bpf.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"

#define INSN(c, d, s, o, i)                                                    \
	((struct bpf_insn){.code = (c),                                        \
			   .dst_reg = (d),                                     \
			   .src_reg = (s),                                     \
			   .off = (o),                                         \
			   .imm = (i)})

static int
sys_bpf(enum bpf_cmd cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

int
cg_devbpf_load(uint32_t major, uint64_t deny)
{
	/* r1: struct bpf_cgroup_dev_ctx {access_type, major, minor}, each
	 * a u32; the type is access_type's low half. Jumps count from the
	 * next instruction; ALLOW is the 15th (index 14). */
	const struct bpf_insn prog[] = {
	    /* 0 */ INSN(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0),
	    /* 1 */ INSN(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff),
	    /* 2 */
	    INSN(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 11, BPF_DEVCG_DEV_CHAR),
	    /* 3 */ INSN(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 4, 0),
	    /* 4 */ INSN(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 9, (int32_t)major),
	    /* 5 */ INSN(BPF_LDX | BPF_MEM | BPF_W, 3, 1, 8, 0),
	    /* 6 */ INSN(BPF_JMP | BPF_JGT | BPF_K, 3, 0, 7, 63),
	    /* 7 */ INSN(BPF_LD | BPF_DW | BPF_IMM, 4, 0, 0, (int32_t)deny),
	    /* 8 */ INSN(0, 0, 0, 0, (int32_t)(deny >> 32)),
	    /* 9 */ INSN(BPF_ALU64 | BPF_RSH | BPF_X, 4, 3, 0, 0),
	    /* 10 */ INSN(BPF_ALU64 | BPF_AND | BPF_K, 4, 0, 0, 1),
	    /* 11 */ INSN(BPF_JMP | BPF_JEQ | BPF_K, 4, 0, 2, 0),
	    /* 12 */ INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
	    /* 13 */ INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	    /* 14: ALLOW */ INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1),
	    /* 15 */ INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof attr);
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.insn_cnt = sizeof prog / sizeof prog[0];
	attr.license = (uint64_t)(uintptr_t) "GPL";
	strncpy(attr.prog_name, "forq_devices", sizeof attr.prog_name - 1);
	return sys_bpf(BPF_PROG_LOAD, &attr);
}

/* BPF_PROG_ATTACH or BPF_PROG_DETACH of prog on the group's devices. */
static int
cg_devbpf_op(enum bpf_cmd cmd, int group_fd, int prog_fd)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof attr);
	attr.target_fd = (uint32_t)group_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	return sys_bpf(cmd, &attr);
}

int
cg_devbpf_attach(int group_fd, int prog_fd)
{
	/* Without BPF_F_ALLOW_MULTI a group holds one program of ours, and
	 * attaching another replaces it; those of the groups above (the
	 * service manager's) still apply, all of them must let a device
	 * in. */
	return cg_devbpf_op(BPF_PROG_ATTACH, group_fd, prog_fd);
}

int
cg_devbpf_detach(int group_fd, int prog_fd)
{
	return cg_devbpf_op(BPF_PROG_DETACH, group_fd, prog_fd);
}

bool
cg_devbpf_works(void)
{
	int fd = cg_devbpf_load(CG_NVIDIA_MAJOR, 1);

	if (fd == -1)
		return false;
	close(fd);
	return true;
}
