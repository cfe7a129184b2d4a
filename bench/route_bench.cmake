# bench_route: nanoseconds per routing decision of a rules.o, measured in the kernel
# with BPF_PROG_TEST_RUN. Driven by bench/route_bench.sh; include() this file from
# bench/CMakeLists.txt. Built into bin/ with everything else; needs root to run.
add_executable(bench_route ${CMAKE_CURRENT_LIST_DIR}/route_bench.cpp)
target_link_libraries(bench_route PRIVATE dae_datapath)
