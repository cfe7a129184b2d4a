# dae_embed_files(TARGET NAME BASE_DIR FILES...): compiles the files into a table
# `dae::embedded::<NAME>` of {relative path, contents} so that binaries carry their
# templates and stdlib and need nothing from the source tree at run time.
function(dae_embed_files target name base_dir)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/embedded_${name}.cpp)
  set(abs_files)
  foreach(f ${ARGN})
    list(APPEND abs_files ${base_dir}/${f})
  endforeach()
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DNAME=${name} -DBASE=${base_dir}
            "-DFILES=${ARGN}" -P ${PROJECT_SOURCE_DIR}/cmake/EmbedScript.cmake
    DEPENDS ${abs_files} ${PROJECT_SOURCE_DIR}/cmake/EmbedScript.cmake
    COMMENT "Embedding ${name}" VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
