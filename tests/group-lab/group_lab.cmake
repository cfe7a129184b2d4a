# group_lab: the driver of tests/group-lab/run.sh (GroupManager + real dialers).
add_executable(group_lab ${CMAKE_CURRENT_LIST_DIR}/group_lab.cpp)
target_link_libraries(group_lab PRIVATE dae_group)
