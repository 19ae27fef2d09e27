# Turns bpf/<name>.bpf.c into <name>.bpf.o and <name>.skel.h, exposed as the interface
# target <name>_skel. vmlinux.h is generated from the build machine's BTF: CO-RE relocates
# every field access at load time, so the object still runs on other kernels, and the
# repository carries no 100k-line generated header that would go stale.
find_program(BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

set(VXT_BTF_SOURCE /sys/kernel/btf/vmlinux CACHE FILEPATH "BTF used to generate vmlinux.h")
set(VXT_BPF_GEN ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${VXT_BPF_GEN})

add_custom_command(
  OUTPUT ${VXT_BPF_GEN}/vmlinux.h
  COMMAND ${BPFTOOL} btf dump file ${VXT_BTF_SOURCE} format c > ${VXT_BPF_GEN}/vmlinux.h
  COMMENT "Generating vmlinux.h from ${VXT_BTF_SOURCE}"
  VERBATIM)
# A file made by a custom command is only a dependency within its own directory; BPF
# objects in other directories (tests/bpf) reach it through this target.
add_custom_target(vmlinux_h DEPENDS ${VXT_BPF_GEN}/vmlinux.h)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(VXT_BPF_ARCH arm64)
else()
  set(VXT_BPF_ARCH x86)
endif()

# vxtrace_bpf_object(name [SOURCE_DIR dir]): dir defaults to bpf/.
function(vxtrace_bpf_object name)
  cmake_parse_arguments(ARG "" "SOURCE_DIR" "" ${ARGN})
  if(NOT ARG_SOURCE_DIR)
    set(ARG_SOURCE_DIR ${CMAKE_SOURCE_DIR}/bpf)
  endif()
  set(src ${ARG_SOURCE_DIR}/${name}.bpf.c)
  set(obj ${VXT_BPF_GEN}/${name}.bpf.o)
  set(${name}_BPF_OBJECT ${obj} PARENT_SCOPE)
  set(skel ${VXT_BPF_GEN}/${name}.skel.h)
  file(GLOB bpf_headers ${CMAKE_SOURCE_DIR}/bpf/*.bpf.h ${CMAKE_SOURCE_DIR}/include/vxtrace/*.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_${VXT_BPF_ARCH}
            -I${VXT_BPF_GEN} -I${CMAKE_SOURCE_DIR}/include -I${CMAKE_SOURCE_DIR}/bpf
            -c ${src} -o ${obj}
    DEPENDS ${src} ${bpf_headers} ${VXT_BPF_GEN}/vmlinux.h
    COMMENT "BPF ${name}.bpf.c"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}
    DEPENDS ${obj}
    COMMENT "Skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${skel})
  add_dependencies(${name}_skel_gen vmlinux_h)
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${VXT_BPF_GEN})
endfunction()
