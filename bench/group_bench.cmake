# bench_group: ns per GroupManager::pick for 1,000-node groups, per policy.
# Include from bench/CMakeLists.txt: include(${CMAKE_CURRENT_SOURCE_DIR}/group_bench.cmake)
if(TARGET dae_group AND NOT TARGET bench_group)
  add_executable(bench_group ${CMAKE_CURRENT_LIST_DIR}/group_bench.cpp)
  target_link_libraries(bench_group PRIVATE dae_group)
endif()
