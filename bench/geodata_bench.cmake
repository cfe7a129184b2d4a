# bench_geodata: domain-matcher lookups/s and memory with real geosite lists, and the
# time to load geoip:cn into its LPM-trie map. Included from bench/CMakeLists.txt.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf)
add_executable(bench_geodata ${CMAKE_CURRENT_LIST_DIR}/geodata_bench.cpp)
target_link_libraries(bench_geodata PRIVATE dae_geodata dae_dns PkgConfig::LIBBPF)
target_compile_definitions(bench_geodata PRIVATE "DAE_SHARED_DATA=\"${PROJECT_SOURCE_DIR}/../shared/data\"")
