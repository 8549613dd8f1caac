# Serves the dashboard on port 8501. Installs exactly as the README's set-up does.
# Outside the development machines (which keep the torch wheels on disk) pip downloads
# the CUDA build of torch 2.14.1 from PyPI (about 3 GB); it also runs on the CPU.
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt requirements-nodeps.txt ./
COPY scripts/setup.sh scripts/setup.sh
RUN scripts/setup.sh
COPY . .
EXPOSE 8501
# dashboard.sh: the set-up check (nothing to do here) and the first page prepared (app.ready)
CMD ["./dashboard.sh", "--server.port=8501", "--server.address=0.0.0.0"]
